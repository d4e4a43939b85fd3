#!/usr/bin/python3
"""inside.py OUT -- reference numbers for tests/lua/inside_spec.lua.

Writes a Lua file returning:
  pca:  data x (60 x 5, float32 values), scikit-learn's PCA(2) projection,
        components and explained_variance_ratio
  hist: values (float32) and numpy.histogram's counts over 30 bins
"""
import sys

import numpy as np
from sklearn.decomposition import PCA


def lua(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {lua(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, np.ndarray):
        return lua(v.tolist())
    return repr(float(v))


def main(out):
    rng = np.random.default_rng(20)
    scale = np.array([4.0, 2.5, 1.0, 0.5, 0.2])
    mixing = rng.standard_normal((5, 5))
    x = (rng.standard_normal((60, 5)) * scale) @ mixing
    x = x.astype(np.float32)
    pca = PCA(n_components=2).fit(x.astype(np.float64))
    projection = pca.transform(x.astype(np.float64))

    values = rng.standard_normal(1000).astype(np.float32)
    counts, edges = np.histogram(values.astype(np.float64), bins=30)

    ref = {
        "pca": {"x": x, "projection": projection, "components": pca.components_,
                "ratio": pca.explained_variance_ratio_},
        "hist": {"values": values, "counts": counts, "edges": edges},
    }
    with open(out, "w") as f:
        f.write("return " + lua(ref) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
