"""Predict elastic moduli for a screened corpus: ``python predict.py corpus=... ckpt.bulk=... ckpt.shear=...``."""
import hydra
from omegaconf import DictConfig

from moduli.predict.run import predict


@hydra.main(config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    predict(cfg)


if __name__ == "__main__":
    main()
