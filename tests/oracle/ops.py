#!/usr/bin/python3
"""ops.py OUT.lua -- PyTorch's answers for the tensor-op oracle tests.

Each case runs one op with torch (Debian's python3-torch) on seeded inputs,
some of them transposed views, broadcast, empty, tied or holding zeros and
infinities, and writes a Lua file returning, per case: the Lua call that
does the same with dl, the inputs, the outputs (positions 1-based) and the
gradients of sum(out * upstream). tests/lua/ops_oracle_spec.lua replays
every case with dl and compares.
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
cases = []


def lua_number(v):
    if math.isnan(v):
        return "0/0"
    if math.isinf(v):
        return "1/0" if v > 0 else "-1/0"
    return "%.9g" % v


def lua_tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    values = ", ".join(lua_number(v) for v in t.flatten().tolist())
    return "{shape = {%s}, data = {%s}}" % (", ".join(str(s) for s in t.shape), values)


def lua_value(v):
    if isinstance(v, torch.Tensor):
        return lua_tensor(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return lua_number(v)
    if isinstance(v, str):
        return "%r" % v if "\n" not in v else "[[%s]]" % v
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua_value(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua_value(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


def as_outputs(result):
    """A list of float tensors: positions (integer tensors) made 1-based."""
    if isinstance(result, torch.Tensor):
        result = [result]
    out = []
    for t in result:
        out.append(t + 1 if not (t.is_floating_point() or t.dtype == torch.bool) else t)
    return [t.float() if t.dtype == torch.bool else t for t in out]


def case(name, torch_fn, lua_call, inputs, consts=(), transposed=(), grad=True):
    """One op: torch_fn(*inputs, *torch consts) against the Lua function
    `lua_call` called with the inputs and the Lua consts. consts are pairs
    (value for torch, value for dl). Inputs listed in `transposed` reach the
    op as a transposed view (last two dims) of a contiguous leaf."""
    torch.manual_seed(len(cases) + 1)
    leaves, args = [], []
    for k, x in enumerate(inputs):
        if k in transposed:
            leaf = x.transpose(-1, -2).contiguous().clone().requires_grad_(grad)
            arg = leaf.transpose(-1, -2)
        else:
            leaf = x.clone().requires_grad_(grad)
            arg = leaf
        leaves.append(leaf)
        args.append(arg)
    outs = as_outputs(torch_fn(*args, *[c[0] for c in consts]))
    grads = []
    upstream = torch.randn_like(outs[0]) if outs[0].is_floating_point() else None
    if grad and outs[0].requires_grad:
        (outs[0] * upstream).sum().backward()
        grads = [l.grad if l.grad is not None else torch.zeros_like(l) for l in leaves]
    cases.append(dict(name=name, call=lua_call, inputs=[l.detach() for l in leaves],
                      transposed=[k + 1 for k in transposed], consts=[c[1] for c in consts],
                      outputs=[o.detach() for o in outs], upstream=upstream, grads=grads))


def layer(name, options, module, x):
    """A layer built as nn.<name>(options) against the torch module."""
    case("nn.%s %s" % (name, lua_value(options)), module,
         "return function(x) return dl.nn.%s(%s)(x) end" % (name, lua_value(options)), [x])


x34 = torch.randn(3, 4) * 1.5
special = torch.tensor([0.0, 1.0, -1.0, math.inf, -math.inf, 30.0, -30.0, 1e-3, -0.5, 2.5])
positive = x34.abs() + 0.1

# ---- unary math and activations (ops.def rows) ----
unary = {
    "log1p": (torch.log1p, positive), "expm1": (torch.expm1, x34), "log2": (torch.log2, positive),
    "erf": (torch.erf, x34), "tan": (torch.tan, x34 * 0.5), "atan": (torch.atan, x34),
    "reciprocal": (torch.reciprocal, positive), "rsqrt": (torch.rsqrt, positive),
    "square": (torch.square, x34), "sign": (torch.sign, x34), "silu": (F.silu, x34),
    "logsigmoid": (F.logsigmoid, x34), "mish": (F.mish, x34), "leaky_relu": (F.leaky_relu, x34),
    "elu": (F.elu, x34), "softplus": (F.softplus, x34), "hardtanh": (F.hardtanh, x34 * 1.2),
}
for name, (fn, x) in unary.items():
    case(name, fn, "return function(x) return x:%s() end" % name, [x])
    case(name + " transposed", fn, "return function(x) return dl.%s(x) end" % name, [x], transposed=[0])
    case(name + " at zeros and infinities", fn, "return function(x) return x:%s() end" % name,
         [special], grad=name not in ("log2", "rsqrt", "reciprocal", "log1p"))
    case(name + " of nothing", fn, "return function(x) return x:%s() end" % name, [torch.zeros(0, 3)])

case("leaky_relu 0.2", lambda x: F.leaky_relu(x, 0.2), "return function(x) return x:leaky_relu(0.2) end", [x34])
case("elu alpha 0.5", lambda x: F.elu(x, 0.5), "return function(x) return x:elu{alpha = 0.5} end", [x34])
case("softplus beta 2 threshold 1", lambda x: F.softplus(x, 2, 1),
     "return function(x) return x:softplus{beta = 2, threshold = 1} end", [x34])
case("hardtanh -0.5, 0.7", lambda x: F.hardtanh(x, -0.5, 0.7),
     "return function(x) return x:hardtanh(-0.5, 0.7) end", [x34])
case("nn.functional.silu", F.silu, "return function(x) return dl.nn.functional.silu(x) end", [x34])

layer("LeakyReLU", {"negative_slope": 0.1}, lambda x: nn.LeakyReLU(0.1)(x), x34)
layer("LeakyReLU", {}, lambda x: nn.LeakyReLU()(x), x34)
layer("ELU", {"alpha": 2.0}, lambda x: nn.ELU(2.0)(x), x34)
layer("SiLU", {}, lambda x: nn.SiLU()(x), x34)
layer("Softplus", {"beta": 0.5, "threshold": 3}, lambda x: nn.Softplus(0.5, 3)(x), x34 * 4)
layer("LogSigmoid", {}, lambda x: nn.LogSigmoid()(x), x34)
layer("Hardtanh", {"min_val": -2, "max_val": 0.5}, lambda x: nn.Hardtanh(-2, 0.5)(x), x34)
layer("Mish", {}, lambda x: nn.Mish()(x), x34)

# ---- indexing ----
idx = torch.tensor([[2, 0, 1, 1], [0, 0, 2, 1]])
case("gather dim 1", lambda x, i: torch.gather(x, 0, i),
     "return function(x, i) return x:gather(1, i) end", [x34], [(idx, idx + 1)])
case("gather dim 2 transposed", lambda x, i: torch.gather(x, 1, i),
     "return function(x, i) return x:gather(2, i) end", [x34], [(idx[:, :3] + 1, idx[:, :3] + 2)], transposed=[0])
case("gather of nothing", lambda x, i: torch.gather(x, 1, i),
     "return function(x, i) return x:gather(2, i) end", [x34], [(torch.zeros(3, 0, dtype=torch.long), torch.zeros(3, 0))])
sidx = torch.tensor([[2, 0, 1], [1, 2, 0]])
src = torch.randn(2, 3)
case("scatter dim 1", lambda x, s, i: x.scatter(0, i, s),
     "return function(x, s, i) return x:scatter(1, i, s) end", [x34, src], [(sidx, sidx + 1)])
case("scatter_add dim 1, repeated positions", lambda x, s, i: x.scatter_add(0, i, s),
     "return function(x, s, i) return x:scatter_add(1, i, s) end", [x34, src],
     [(torch.tensor([[1, 1, 1], [1, 0, 1]]), torch.tensor([[2, 2, 2], [2, 1, 2]]))])
case("scatter of a value", lambda x, i: x.scatter(1, i, 7.5),
     "return function(x, i) return x:scatter(2, i, 7.5) end", [x34], [(sidx, sidx + 1)])
case("scatter_add into a transposed view", lambda x, s, i: x.scatter_add(1, i, s),
     "return function(x, s, i) return x:scatter_add(2, i, s) end", [x34, torch.randn(3, 2)],
     [(torch.tensor([[3, 3], [0, 1], [2, 0]]), torch.tensor([[4, 4], [1, 2], [3, 1]]))], transposed=[0])
cond = (torch.randn(3, 1) > 0).float()
case("where, broadcast", lambda a, b, c: torch.where(c > 0, a, b),
     "return function(a, b, c) return dl.where(c, a, b) end", [x34, torch.randn(4)], [(cond, cond)])
case("where with a number", lambda a, c: torch.where(c > 0, a, torch.tensor(0.5)),
     "return function(a, c) return dl.where(c, a, 0.5) end", [x34], [(cond, cond)], transposed=[0])
case("where, the method", lambda a, b, c: a.where(c > 0, b),
     "return function(a, b, c) return a:where(c, b) end", [x34, torch.randn(3, 4)], [(cond, cond)])
mask = torch.tensor([1.0, 0, 0, 1])
case("masked_fill", lambda x, m: x.masked_fill(m > 0, -math.inf),
     "return function(x, m) return x:masked_fill(m, -1/0) end", [x34], [(mask, mask)])

mask31 = torch.tensor([[1.0], [0], [1]])
case("masked_fill with a column mask, transposed", lambda x, m: x.masked_fill(m > 0, 2.0),
     "return function(x, m) return x:masked_fill(m, 2) end", [x34], [(mask31, mask31)], transposed=[0])
case("where, all three broadcast", lambda a, b, c: torch.where(c > 0, a, b),
     "return function(a, b, c) return dl.where(c, a, b) end", [torch.randn(2, 1, 4), torch.randn(3, 1)],
     [(cond, cond)])

# ---- rearranging ----
x234 = torch.randn(2, 3, 4)
case("flip dims 1, 3", lambda x: torch.flip(x, [0, 2]), "return function(x) return x:flip{1, 3} end", [x234])
case("flip transposed", lambda x: torch.flip(x, [1]), "return function(x) return x:flip(2) end", [x34], transposed=[0])
case("roll", lambda x: torch.roll(x, (1, -5), (0, 2)), "return function(x) return x:roll({1, -5}, {1, 3}) end", [x234])
case("roll flat", lambda x: torch.roll(x, 7), "return function(x) return x:roll(7) end", [x34])
case("roll of nothing", lambda x: torch.roll(x, 2, 1), "return function(x) return x:roll(2, 2) end", [torch.zeros(0, 3)])
case("repeat", lambda x: x.repeat(2, 1, 3), "return function(x) return x['repeat'](x, 2, 1, 3) end", [x34])
case("tile", lambda x: torch.tile(x, (2,)), "return function(x) return x:tile(2) end", [x34], transposed=[0])
case("tril", lambda x: torch.tril(x), "return function(x) return x:tril() end", [x234])
case("tril 1", lambda x: torch.tril(x, 1), "return function(x) return x:tril(1) end", [x34], transposed=[0])
case("roll transposed", lambda x: torch.roll(x, -1, 0), "return function(x) return x:roll(-1, 1) end", [x34], transposed=[0])
case("triu of a batch", lambda x: torch.triu(x, 2), "return function(x) return x:triu(2) end", [x234])
case("triu -1", lambda x: torch.triu(x, -1), "return function(x) return dl.triu(x, -1) end", [x34])
case("diag of a matrix", lambda x: torch.diag(x, 1), "return function(x) return x:diag(1) end", [x34])
case("diag of a vector", lambda x: torch.diag(x, -2), "return function(x) return x:diag(-2) end", [torch.randn(3)])
case("chunk", lambda x: torch.cat([c * (k + 1) for k, c in enumerate(x.chunk(3, 1))], 1),
     "return function(x) local cs = x:chunk(3, 2); return dl.cat({cs[1], cs[2] * 2, cs[3] * 3}, 2) end",
     [torch.randn(2, 7)])
case("split sizes", lambda x: x.split([1, 3], 1)[1] * 2,
     "return function(x) return x:split({1, 3}, 2)[2] * 2 end", [x34])

# ---- scans ----
withzero = torch.tensor([[1.5, 0.0, 2.0, -1.0, 0.0], [0.5, 2.0, -1.5, 1.0, 3.0]])
case("cumsum dim 2", lambda x: torch.cumsum(x, 1), "return function(x) return x:cumsum(2) end", [x34])
case("cumsum dim 1 transposed", lambda x: torch.cumsum(x, 0), "return function(x) return x:cumsum(1) end", [x34], transposed=[0])
case("cumprod dim 2", lambda x: torch.cumprod(x, 1), "return function(x) return x:cumprod(2) end", [x34])
case("cumprod through zeros", lambda x: torch.cumprod(x, 1), "return function(x) return x:cumprod(2) end", [withzero])
case("cumsum of nothing", lambda x: torch.cumsum(x, 0), "return function(x) return x:cumsum(1) end", [torch.zeros(0, 3)])
case("cumsum with infinities", lambda x: torch.cumsum(x, 0), "return function(x) return x:cumsum(1) end", [special], grad=False)

# ---- sorting ----
ties = torch.tensor([[3.0, 1.0, 3.0, 2.0, 3.0, 1.0], [0.0, -1.0, 0.0, 5.0, 5.0, -1.0]])
case("sort", lambda x: torch.sort(x), "return function(x) return x:sort() end", [x34])
case("sort descending with ties", lambda x: torch.sort(x, 1, descending=True),
     "return function(x) return x:sort(2, {descending = true}) end", [ties])
case("sort ascending with ties", lambda x: torch.sort(x, 1), "return function(x) return x:sort{dim = 2} end", [ties])
case("sort dim 1 transposed", lambda x: torch.sort(x, 0), "return function(x) return x:sort(1) end", [x34], transposed=[0])
case("sort with nan and infinities", lambda x: torch.sort(torch.cat([x, torch.tensor([math.nan])])),
     "return function(x) return dl.cat({x, dl.tensor{0/0}}):sort() end", [special], grad=False)
case("topk", lambda x: torch.topk(x, 2), "return function(x) return x:topk(2) end", [x34])
case("topk smallest, dim 1", lambda x: torch.topk(x, 2, 0, largest=False),
     "return function(x) return x:topk(2, 1, {largest = false}) end", [x34], transposed=[0])
case("topk smallest with ties", lambda x: torch.topk(x, 4, largest=False),
     "return function(x) return x:topk(4, {largest = false}) end", [ties])
case("median dim 2", lambda x: torch.median(x, 1), "return function(x) return x:median(2) end", [x34])
case("median dim 2 with ties", lambda x: torch.median(x, 1), "return function(x) return x:median(2) end",
     [torch.tensor([[1.0, 2, 2, 2, 3], [2, 1, 2, 1, 5]])])
case("median keepdim", lambda x: torch.median(x, 0, keepdim=True),
     "return function(x) return x:median(1, {keepdim = true}) end", [x34], transposed=[0])
case("median with nan", lambda x: torch.median(x, 1), "return function(x) return x:median(2) end",
     [torch.tensor([[1.0, math.nan, 0, 2], [3, 1, 2, 0]])], grad=False)
case("median of all with nan", lambda x: torch.median(x), "return function(x) return x:median() end",
     [torch.tensor([math.nan, 1.0, 3.0])], grad=False)
case("median of all with ties", lambda x: torch.median(x), "return function(x) return x:median() end",
     [torch.tensor([[1.0, 2, 2], [2, 3, 0]])])

# ---- reductions ----
case("logsumexp dim 2", lambda x: torch.logsumexp(x, 1), "return function(x) return x:logsumexp(2) end", [x34 * 10])
case("logsumexp keepdim", lambda x: torch.logsumexp(x, 0, keepdim=True),
     "return function(x) return x:logsumexp(1, {keepdim = true}) end", [x34], transposed=[0])
case("logsumexp all", lambda x: torch.logsumexp(x, (0, 1)), "return function(x) return x:logsumexp() end", [x34])
case("logsumexp with infinities", lambda x: torch.logsumexp(x, 1),
     "return function(x) return x:logsumexp(2) end",
     [torch.tensor([[-math.inf, -math.inf], [math.inf, 1.0], [-math.inf, 2.0]])])
case("logsumexp of nothing", lambda x: torch.logsumexp(x, 1), "return function(x) return x:logsumexp(2) end", [torch.zeros(3, 0)])
case("amax dim 2 with ties", lambda x: torch.amax(x, 1), "return function(x) return x:amax(2) end", [ties])
case("amin all with ties", lambda x: torch.amin(x), "return function(x) return x:amin() end", [ties])
case("amax keepdim transposed", lambda x: torch.amax(x, 0, keepdim=True),
     "return function(x) return x:amax(1, {keepdim = true}) end", [x34], transposed=[0])
case("amax over dims 1 and 3", lambda x: torch.amax(x, (0, 2)), "return function(x) return x:amax{1, 3} end",
     [torch.tensor([[[1.0, 3], [2, 2]], [[3, 0], [2, 1]]])])
case("logsumexp over dims 2 and 1, keepdim", lambda x: torch.logsumexp(x, (1, 0), keepdim=True),
     "return function(x) return x:logsumexp({2, 1}, {keepdim = true}) end", [x234])
case("norm over dims 1 and 2", lambda x: torch.norm(x, dim=(0, 1)),
     "return function(x) return x:norm{dim = {1, 2}} end", [x234])
case("norm p 1 over dims 2 and 3, keepdim", lambda x: torch.norm(x, 1, (1, 2), keepdim=True),
     "return function(x) return x:norm(1, {2, 3}, {keepdim = true}) end", [x234])
case("amin over dims 1 and 2 transposed", lambda x: torch.amin(x, (0, 1)), "return function(x) return x:amin{1, 2} end",
     [x34], transposed=[0])
bits = torch.tensor([[1.0, 0, 2], [3, 4, -1]])
case("all dim 2", lambda x: torch.all(x, 1), "return function(x) return x:all(2) end", [bits], grad=False)
case("any dim 1", lambda x: torch.any(x, 0), "return function(x) return x:any(1) end", [bits], grad=False)
case("all of nothing", lambda x: torch.all(x), "return function(x) return x:all() end", [torch.zeros(0)], grad=False)
case("all over dims 1 and 2", lambda x: torch.all(torch.all(x, 1), 0), "return function(x) return x:all{1, 2} end",
     [bits], grad=False)
case("any of nothing", lambda x: torch.any(x, 1), "return function(x) return x:any(2) end", [torch.zeros(2, 0)], grad=False)
for p in [2, 1, 3, 0.5, math.inf, -math.inf, 0]:
    case("norm p %s" % p, lambda x, p=p: torch.norm(x, p), "return function(x) return x:norm(%s) end" % lua_number(p),
         [x34], grad=p != 0)
    case("norm p %s dim 2 with zeros" % p, lambda x, p=p: torch.norm(x, p, 1),
         "return function(x) return x:norm(%s, 2) end" % lua_number(p), [withzero], grad=p != 0)
case("norm p 3 dim 1 transposed", lambda x: torch.norm(x, 3, 0), "return function(x) return x:norm(3, 1) end",
     [x34], transposed=[0])
case("cumprod dim 1 transposed", lambda x: torch.cumprod(x, 0), "return function(x) return x:cumprod(1) end",
     [x34], transposed=[0])
case("norm of a zero vector", lambda x: torch.norm(x), "return function(x) return x:norm() end", [torch.zeros(3)])
case("norm keepdim", lambda x: torch.norm(x, dim=0, keepdim=True),
     "return function(x) return x:norm{dim = 1, keepdim = true} end", [x34], transposed=[0])

# ---- products ----
a23, b34 = torch.randn(2, 3), torch.randn(3, 4)
case("mm", torch.mm, "return function(a, b) return dl.mm(a, b) end", [a23, b34], transposed=[1])
case("bmm", torch.bmm, "return function(a, b) return a:bmm(b) end", [torch.randn(2, 2, 3), torch.randn(2, 3, 4)])
einsums = [
    ("ij,jk->ik", [a23, b34]), ("bij,bjk->bik", [torch.randn(2, 2, 3), torch.randn(2, 3, 4)]),
    ("ij,kj->ik", [a23, torch.randn(4, 3)]), ("i,j->ij", [torch.randn(3), torch.randn(4)]),
    ("i,i->", [torch.randn(3), torch.randn(3)]), ("ij->ji", [a23]), ("ij->i", [a23]), ("ij->", [a23]),
    ("ii->", [torch.randn(3, 3)]), ("ii->i", [torch.randn(3, 3)]), ("ij,jk", [a23, b34]),
    ("bhqd,bhkd->bhqk", [torch.randn(2, 2, 3, 4), torch.randn(2, 2, 5, 4)]),
    ("ij,j->i", [a23, torch.randn(3)]), ("ijk->kj", [torch.randn(2, 3, 4)]),
]
for eq, ins in einsums:
    names = ", ".join("t%d" % k for k in range(len(ins)))
    case("einsum " + eq, lambda *ts, eq=eq: torch.einsum(eq, *ts),
         "return function(%s) return dl.einsum(%r, %s) end" % (names, eq, names), ins)

with open(sys.argv[1], "w") as f:
    f.write("-- written by tests/oracle/ops.py\nreturn {\n")
    for c in cases:
        f.write("  " + lua_value(c) + ",\n")
    f.write("}\n")
