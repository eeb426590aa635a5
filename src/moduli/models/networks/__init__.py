"""The networks, as plain ``torch.nn`` modules: what a model computes from its batched inputs.

- :mod:`.cgcnn`: CGCNN on crystal graphs (the original layer, as PyG message passing);
- :mod:`.feature_mlp`: an MLP on per-structure feature vectors (the frozen-feature heads);
- :mod:`.sevennet_body`: SevenNet-0's body trained end to end with an MLP head.

Which network a model kind builds, with which inputs, is the kind's business
(:mod:`moduli.models.kinds`).
"""
