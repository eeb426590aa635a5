"""Structure -> crystal graph: atom features, periodic neighbour list, Gaussian expansion, cache."""
