#!/usr/bin/python3
"""gradient_fixes.py OUT.lua -- PyTorch's values and gradients for the cases
of tests/lua/gradient_fixes_spec.lua (issue 12's wrong results).

Each case is a named function of float32 inputs; the Lua side rebuilds the
same computation with dl by name and compares the output and the input
gradients. Dims are written 0-based here and 1-based in the spec.
"""
import sys

import torch
import torch.nn.functional as F


def lua_value(v):
    if isinstance(v, torch.Tensor):
        v = v.detach().to(torch.float32)
        if v.dim() == 0:
            return lua_value(v.item())
        return "{" + ", ".join(lua_value(x) for x in v) + "}"
    if isinstance(v, float):
        if v != v:
            return "0/0"
        if v in (float("inf"), float("-inf")):
            return "1/0" if v > 0 else "-1/0"
        return "%.9g" % v
    if isinstance(v, int):
        return str(v)
    raise TypeError(type(v))


cases = {}


def case(name, inputs, fn):
    """Runs fn on float32 leaves built from `inputs` (nested lists)."""
    leaves = [torch.tensor(x, dtype=torch.float32, requires_grad=True) for x in inputs]
    out = fn(*leaves)
    out.sum().backward()
    cases[name] = {"inputs": inputs, "out": out,
                   "grads": [leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
                             for leaf in leaves]}


case("clone", [[1.0, 2.0, 3.0]], lambda x: (x.clone() * x).sum())
case("contiguous", [[[1.0, 2.0], [3.0, 4.0]]], lambda m: (m.t().contiguous() * m).sum())

WEIGHTS = torch.arange(1.0, 19.0).reshape(6, 3)
SIX = [[0.5 * i - j for j in range(3)] for i in range(6)]
case("stack_many", SIX, lambda *xs: torch.stack(xs, 0) * WEIGHTS)
case("cat_many", SIX, lambda *xs: torch.cat(xs, 0) * WEIGHTS.reshape(-1))

# prod with zeros: one zero passes the product of the others, two pass 0.
case("prod_one_zero", [[2.0, 0.0, 3.0]], lambda x: x.prod())
case("prod_two_zeros", [[2.0, 0.0, 0.0, 5.0]], lambda x: x.prod())
case("prod_dim_zeros", [[[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]]], lambda x: x.prod(1))
case("prod_dim1_zeros", [[[2.0, 0.0], [0.0, 4.0], [5.0, 3.0]]], lambda x: x.prod(0))
# bce where the log is clamped: finite gradients, 0 through a saturated sigmoid.
case("bce_saturated", [[20.0, -20.0, 0.0, 100.0, -100.0, 3.0]],
     lambda x: F.binary_cross_entropy(x.sigmoid(), torch.tensor([0.0, 1, 1, 0, 1, 0.25]),
                                      reduction="sum"))
case("bce_edges", [[1.0, 1.0, 0.0, 0.0, 1e-30, 0.5]],
     lambda p: F.binary_cross_entropy(p, torch.tensor([1.0, 0, 0, 1, 1, 0.3]), reduction="none"))
case("bce_target_grad", [[0.3, 0.9, 0.5], [0.2, 0.5, 1.0]],
     lambda p, t: F.binary_cross_entropy(p, t, reduction="sum"))
case("pow_zero", [[0.0, 1.0, -2.0]], lambda x: x ** 0)
case("pow_tensor_zero", [[0.0, 2.0], [0.0, 1.0]], lambda x, e: x ** e)
case("std_no_spread", [[2.0, 2.0, 2.0]], lambda x: x.std())
case("std_dim_no_spread", [[[1.0, 1.0], [3.0, 4.0]]], lambda x: x.std(1))
case("std_one_biased", [[5.0]], lambda x: x.std(unbiased=False))
case("var_correction_2", [[1.0, 2.0]], lambda x: torch.var(x, 0, correction=2))
case("std_correction_3", [[1.0, 2.0]], lambda x: torch.std(x, 0, correction=3))
case("var_dim_correction", [[[1.0, 2.0], [3.0, 3.0]]], lambda x: torch.var(x, 1, correction=2))
case("var_empty", [[]], lambda x: torch.var(x, 0))
case("max_ties", [[1.0, 3.0, 3.0, 2.0]], lambda x: x.max())
case("min_ties", [[[1.0, 1.0], [4.0, 1.0]]], lambda x: x.min())
case("max_dim_ties", [[[3.0, 3.0], [1.0, 2.0]]], lambda x: x.max(1)[0])

GELU_X = [[-6.0, -3.0, -1.0, -0.1, 0.0, 0.5, 2.0, 10.0]]
case("gelu_tanh", GELU_X, lambda x: F.gelu(x, approximate="tanh"))
case("gelu_tanh_layer", GELU_X, lambda x: torch.nn.GELU(approximate="tanh")(x))
case("gelu_exact", GELU_X, lambda x: F.gelu(x))

case("clamp_nan_min", [[-1.0, 0.5, 2.0]], lambda x: torch.clamp(x, float("nan"), 1.0))
case("clamp_nan_max", [[-1.0, 0.5, 2.0]], lambda x: torch.clamp(x, 0.0, float("nan")))


def write(path):
    with open(path, "w") as f:
        f.write("-- written by tests/oracle/gradient_fixes.py\nreturn {\n")
        for name, c in cases.items():
            f.write("  %s = {\n" % name)
            f.write("    inputs = {%s},\n" % ", ".join(lua_value(torch.tensor(x)) for x in c["inputs"]))
            f.write("    out = %s,\n" % lua_value(c["out"]))
            f.write("    grads = {%s},\n" % ", ".join(lua_value(g) for g in c["grads"]))
            f.write("  },\n")
        f.write("}\n")


write(sys.argv[1])
