"""Train a CGCNN model: ``python train.py [overrides]`` (see conf/train.yaml and README)."""
import hydra
from omegaconf import DictConfig

from moduli.training import train


@hydra.main(config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return train(cfg)


if __name__ == "__main__":
    main()
