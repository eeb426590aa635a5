"""Classical baselines on the paper's six composition / structure descriptors."""
