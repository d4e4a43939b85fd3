#!/usr/bin/python3
"""reference.py OUT.lua -- PyTorch's answers for the oracle tests.

Builds each layer, loss and optimiser case with torch (Debian's
python3-torch), seeded, and writes a Lua file returning the inputs, the
weights PyTorch initialised, the outputs and the gradients. The Lua side
(tests/lua/oracle_spec.lua) rebuilds every case with dl from these numbers
and compares. Class labels and indices are written 1-based, as dl uses them.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
cases = []


def lua_tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    values = ", ".join("%.9g" % v for v in t.flatten().tolist())
    return "{shape = {%s}, data = {%s}}" % (", ".join(str(s) for s in t.shape), values)


def lua_value(v):
    if isinstance(v, torch.Tensor):
        return lua_tensor(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua_value(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua_value(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


def add(**case):
    cases.append(case)


def layer_case(name, make, x, args=None, train=True, target_grad=True):
    """Forward and backward of a module with a random upstream gradient."""
    torch.manual_seed(len(cases) + 1)
    layer = make()
    layer.train(train)
    x = x.clone().requires_grad_(x.is_floating_point() and target_grad)
    params = {n.replace(".", "_"): p.detach().clone() for n, p in layer.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in layer.named_buffers() if b.is_floating_point()}
    y = layer(x)
    upstream = torch.randn_like(y)
    (y * upstream).sum().backward()
    grads = {n.replace(".", "_"): p.grad for n, p in layer.named_parameters()}
    if x.requires_grad:
        grads["input"] = x.grad
    after = {n: b.detach().clone() for n, b in layer.named_buffers() if b.is_floating_point()}
    add(kind="layer", name=name, args=args or {}, train=train,
        input=x.detach() if x.is_floating_point() else x.float() + 1,
        params=params, buffers=buffers, output=y, upstream=upstream, grads=grads,
        buffers_after=after)


x4 = torch.randn(4, 5)
img = torch.randn(2, 2, 6, 5)
layer_case("Linear", lambda: nn.Linear(5, 3), x4, {"n_in": 5, "n_out": 3})
layer_case("Linear", lambda: nn.Linear(5, 2, bias=False), x4, {"n_in": 5, "n_out": 2, "bias": False})
layer_case("Conv2d", lambda: nn.Conv2d(2, 3, 3, padding=1), img, {"n_in": 2, "n_out": 3, "k": 3, "padding": 1})
layer_case("Conv2d", lambda: nn.Conv2d(2, 4, (3, 2), stride=2), img,
           {"n_in": 2, "n_out": 4, "k": [3, 2], "stride": 2})
layer_case("MaxPool2d", lambda: nn.MaxPool2d(2), img, {"k": 2})
layer_case("MaxPool2d", lambda: nn.MaxPool2d(3, stride=2, padding=1), img, {"k": 3, "stride": 2, "padding": 1})
layer_case("AvgPool2d", lambda: nn.AvgPool2d(2), img, {"k": 2})
layer_case("AvgPool2d", lambda: nn.AvgPool2d(3, stride=1, padding=1), img, {"k": 3, "stride": 1, "padding": 1})
layer_case("Flatten", lambda: nn.Flatten(), img)
layer_case("BatchNorm1d", lambda: nn.BatchNorm1d(5), torch.randn(6, 5) * 3 + 1, {"n": 5})
layer_case("BatchNorm2d", lambda: nn.BatchNorm2d(2), img * 2 - 1, {"n": 2})
bn = nn.BatchNorm2d(2)
bn.running_mean.copy_(torch.tensor([0.5, -0.3]))
bn.running_var.copy_(torch.tensor([2.0, 0.7]))
layer_case("BatchNorm2d", lambda: bn, img, {"n": 2}, train=False)
layer_case("LayerNorm", lambda: nn.LayerNorm(5), x4 * 2 + 0.5, {"n": 5})
layer_case("Embedding", lambda: nn.Embedding(10, 4), torch.tensor([[1, 4, 9], [0, 4, 2]]),
           {"num": 10, "dim": 4}, target_grad=False)
for act in ["ReLU", "Sigmoid", "Tanh", "GELU"]:
    layer_case(act, getattr(nn, act), x4)
layer_case("Softmax", lambda: nn.Softmax(dim=1), x4, {"dim": 2})
layer_case("LogSoftmax", lambda: nn.LogSoftmax(dim=0), x4, {"dim": 1})


def loss_case(name, fn, pred, target, options=None, label_target=False):
    pred = pred.clone().requires_grad_(True)
    loss = fn(pred, target)
    upstream = torch.randn_like(loss) if loss.dim() > 0 else torch.tensor(1.0)
    (loss * upstream).sum().backward()
    add(kind="loss", name=name, input=pred.detach(), target=target.float() + (1 if label_target else 0),
        options=options or {}, output=loss, upstream=upstream, grads={"input": pred.grad})


p = torch.randn(6, 4)
t = torch.randn(6, 4)
probs = torch.rand(6, 4) * 0.9 + 0.05
bits = (torch.rand(6, 4) > 0.5).float()
labels = torch.tensor([0, 3, 2, 1, 3, 0])
for red in ["mean", "sum", "none"]:
    loss_case("mse_loss", lambda a, b: F.mse_loss(a, b, reduction=red), p, t, {"reduction": red})
loss_case("l1_loss", F.l1_loss, p, t)
loss_case("bce", F.binary_cross_entropy, probs, bits)
loss_case("bce_with_logits", lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="sum"),
          p * 3, bits, {"reduction": "sum"})
loss_case("cross_entropy", F.cross_entropy, p, labels, label_target=True)
loss_case("cross_entropy", lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1, reduction="none"),
          p, labels, {"label_smoothing": 0.1, "reduction": "none"}, label_target=True)
loss_case("nll_loss", F.nll_loss, p, labels, label_target=True)


def optim_case(name, make, options, steps=10):
    """Parameters after `steps` updates on L = sum((w * x - y)^2)."""
    torch.manual_seed(100 + len(cases))
    w = torch.randn(5, 3, requires_grad=True)
    x, y = torch.randn(5, 3), torch.randn(5, 3)
    w0 = w.detach().clone()
    opt = make([w])
    for _ in range(steps):
        opt.zero_grad()
        ((w * x - y) ** 2).sum().backward()
        opt.step()
    add(kind="optim", name=name, options=options, w0=w0, x=x, y=y, steps=steps, w=w.detach())


optim_case("SGD", lambda ps: torch.optim.SGD(ps, lr=0.01), {"lr": 0.01})
optim_case("SGD", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=0.01),
           {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01})
optim_case("SGD", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True),
           {"lr": 0.01, "momentum": 0.9, "nesterov": True})
optim_case("SGD", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.5, dampening=0.3),
           {"lr": 0.01, "momentum": 0.5, "dampening": 0.3})
optim_case("Adam", lambda ps: torch.optim.Adam(ps, lr=0.05), {"lr": 0.05})
optim_case("Adam", lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1),
           {"lr": 0.05, "betas": [0.8, 0.99], "weight_decay": 0.1})
optim_case("AdamW", lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1),
           {"lr": 0.05, "weight_decay": 0.1})
optim_case("RMSprop", lambda ps: torch.optim.RMSprop(ps, lr=0.01), {"lr": 0.01})
optim_case("RMSprop", lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9, weight_decay=0.01),
           {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01})
optim_case("Adagrad", lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
           {"lr": 0.1, "lr_decay": 0.01})

with open(sys.argv[1], "w") as out:
    out.write("-- generated by tests/oracle/reference.py (PyTorch %s)\nreturn {\n" % torch.__version__)
    for case in cases:
        out.write("  " + lua_value(case) + ",\n")
    out.write("}\n")
