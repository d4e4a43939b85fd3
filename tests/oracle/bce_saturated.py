#!/usr/bin/python3
"""tests/oracle/bce_saturated.py OUT.lua -- PyTorch's binary cross-entropy
where a sigmoid saturates (p exactly 0 or 1, and next to them), with its
gradients for the probabilities and the targets, written as a Lua table
for tests/lua/bce_saturated_spec.lua."""
import sys

import torch
import torch.nn.functional as F

P = [0.0, 1.0, 1e-8, 1 - 1e-7, 0.5, 0.25, 1.0, 0.0, 0.9, 0.999999]
T = [0.0, 1.0, 0.0, 1.0, 1.0, 0.3, 0.0, 1.0, 0.0, 1.0]


def number(v):
    v = float(v)
    if v != v:
        return "0/0"
    if v in (float("inf"), float("-inf")):
        return "math.huge" if v > 0 else "-math.huge"
    return repr(v)


def lua(values):
    return "{" + ", ".join(number(v) for v in values) + "}"


def main(out):
    cases = []
    for reduction in ("mean", "sum", "none"):
        p = torch.tensor(P, dtype=torch.float32, requires_grad=True)
        t = torch.tensor(T, dtype=torch.float32, requires_grad=True)
        loss = F.binary_cross_entropy(p, t, reduction=reduction)
        loss.backward(torch.ones_like(loss))
        cases.append("{reduction = %r, loss = %s, dp = %s, dt = %s}" % (
            reduction, lua(loss.detach().reshape(-1).tolist()), lua(p.grad.tolist()),
            lua(t.grad.tolist())))
    with open(out, "w") as f:
        f.write("return {p = %s, t = %s, cases = {\n  %s\n}}\n" % (lua(P), lua(T),
                                                                  ",\n  ".join(cases)))


if __name__ == "__main__":
    main(sys.argv[1])
