#!/usr/bin/python3
"""dims.py OUT.lua -- PyTorch's answers for tests/lua/dims_spec.lua: tensors
of 5 to 8 dims (creation, broadcasting, reductions along each dim,
transpose, permute, reshape and backward). Values are written flat, with
their shape; dims are 0-based here and 1-based in the spec."""
import sys

import torch

SHAPES = {5: (2, 3, 1, 2, 3), 6: (2, 1, 3, 2, 1, 2), 7: (1, 2, 2, 3, 1, 2, 2),
          8: (2, 1, 2, 1, 3, 1, 2, 2)}


def flat(t):
    t = t.detach().to(torch.float32).contiguous()
    return "{shape = {%s}, data = {%s}}" % (", ".join(str(s) for s in t.shape),
                                            ", ".join("%.9g" % v for v in t.flatten().tolist()))


def base(shape):
    n = 1
    for s in shape:
        n *= s
    return (torch.arange(n, dtype=torch.float32) * 0.37 % 2.3 - 1.1).reshape(shape)


out = ["return {"]
for nd, shape in SHAPES.items():
    x = base(shape).requires_grad_()
    # the broadcast partner: size 1 in every other dim, one fewer dim
    yshape = tuple(1 if d % 2 else s for d, s in enumerate(shape[1:]))
    y = (base(yshape) + 0.5).requires_grad_()
    z = x * y + x
    loss = (z * z).sum() + x.transpose(0, nd - 1).reshape(-1)[: 5].sum()
    loss.backward()
    fields = ["x = %s" % flat(x), "y = %s" % flat(y), "z = %s" % flat(z),
              "loss = %.9g" % loss.item(), "grad_x = %s" % flat(x.grad), "grad_y = %s" % flat(y.grad),
              "sums = {%s}" % ", ".join(flat(x.sum(d)) for d in range(nd)),
              "maxes = {%s}" % ", ".join(flat(x.amax(d)) for d in range(nd)),
              "means_keep = {%s}" % ", ".join(flat(x.mean(d, keepdim=True)) for d in range(nd)),
              "transposed = %s" % flat(x.transpose(1, nd - 1)),
              "permuted = %s" % flat(x.permute(*reversed(range(nd))))]
    out.append("  [%d] = {%s}," % (nd, ", ".join(fields)))
# batched matmul over 3 broadcast batch dims (attention's (B, H, T, D) and more)
a = base((2, 3, 1, 4, 5)).requires_grad_()
b = base((3, 2, 5, 2)).requires_grad_()
c = a @ b
(c * c).sum().backward()
out.append("  matmul = {a = %s, b = %s, c = %s, grad_a = %s, grad_b = %s}," %
           (flat(a), flat(b), flat(c), flat(a.grad), flat(b.grad)))
out.append("}")
with open(sys.argv[1], "w") as f:
    f.write("\n".join(out) + "\n")
