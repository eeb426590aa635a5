"""Predict elastic moduli for a screened corpus: ``python predict.py corpus=... [ckpt.bulk=... ckpt.shear=...]``."""
import hydra
from omegaconf import DictConfig

from moduli.core.errors import exit_on_user_error
from moduli.predict.run import predict


@hydra.main(config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    exit_on_user_error("predict.py", lambda: predict(cfg))


if __name__ == "__main__":
    main()
