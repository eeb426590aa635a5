"""Train a CGCNN model: ``python train.py [overrides]`` (see conf/train.yaml and README)."""
import hydra
from omegaconf import DictConfig

from moduli.core.errors import exit_on_user_error
from moduli.train.run import train


@hydra.main(config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return exit_on_user_error("train.py", lambda: train(cfg))


if __name__ == "__main__":
    main()
