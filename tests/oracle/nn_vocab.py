#!/usr/bin/python3
"""nn_vocab.py OUT.lua -- PyTorch's answers for the newer layers and losses.

Like reference.py: each case is built with torch (Debian's python3-torch),
seeded, and written to a Lua file with its inputs, the weights PyTorch
initialised, the output and the gradients; tests/lua/nn_vocab_oracle_spec.lua
rebuilds each case with dl and compares. Class labels are written 1-based.
A case's input written with `swapped = true` holds x.transpose(0, -1): the
Lua side transposes it back, so dl sees a non-contiguous tensor.
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
    if v is None:
        return "nil"
    raise TypeError(type(v))


def labels(t, ignore=-100, dl_ignore=-100):
    """Class indices as dl reads them: 1-based, the ignored label as dl's."""
    return torch.where(t == ignore, torch.full_like(t, dl_ignore), t + 1).float()


def spec(x, swapped):
    if swapped and x.dim() >= 2:
        return {"tensor": x.transpose(0, -1).contiguous(), "swapped": True}
    return {"tensor": x}


def fn_case(name, fn, args, dl_args=None, opts=None, grad=None, swapped=False):
    """A function of tensors: output and the gradients of the float
    arguments marked in `grad` under a random upstream gradient. dl_args
    replaces what dl is given (labels); opts are passed to dl as given."""
    torch.manual_seed(len(cases) + 1)
    grad = grad or [a.is_floating_point() for a in args]
    xs = [a.clone().requires_grad_(g) for a, g in zip(args, grad)]
    y = fn(*xs)
    upstream = torch.randn_like(y)
    if y.requires_grad:
        (y * upstream).sum().backward()
    grads = {"g%d" % (i + 1): x.grad if x.grad is not None else torch.zeros_like(x)
             for i, x in enumerate(xs) if grad[i]}
    dl_args = dl_args or args
    cases.append(dict(kind="fn", name=name, args=[spec(a, swapped) for a in dl_args],
                      grad=grad, opts=opts or {}, output=y, upstream=upstream, grads=grads))


def layer_case(name, make, x, pos=None, opts=None, train=True, swapped=False):
    """A module: built by dl as nn[name](pos..., opts) with PyTorch's weights."""
    torch.manual_seed(len(cases) + 1)
    layer = make()
    layer.train(train)
    x = x.clone().requires_grad_(True)
    params = {n.replace(".", "_"): p.detach().clone() for n, p in layer.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in layer.named_buffers() if b.is_floating_point()}
    y = layer(x)
    upstream = torch.randn_like(y)
    (y * upstream).sum().backward()
    grads = {n.replace(".", "_"): p.grad for n, p in layer.named_parameters()}
    grads["input"] = x.grad
    after = {n: b.detach().clone() for n, b in layer.named_buffers() if b.is_floating_point()}
    cases.append(dict(kind="layer", name=name, pos=pos or [], opts=opts or {}, train=train,
                      input=spec(x.detach(), swapped), params=params, buffers=buffers,
                      output=y, upstream=upstream, grads=grads, buffers_after=after))


# ---- class losses ---------------------------------------------------------------

logits = torch.randn(5, 4)
y = torch.tensor([0, 3, 1, 1, 2])
w4 = torch.tensor([0.5, 2.0, 1.0, 3.0])
log_probs = logits.log_softmax(1)
for reduction in ["mean", "sum", "none"]:
    fn_case("cross_entropy", lambda x: F.cross_entropy(x, y, weight=w4, reduction=reduction),
            [logits], [logits, labels(y)], {"weight": w4, "reduction": reduction}, swapped=True)
    fn_case("nll_loss", lambda x: F.nll_loss(x, y, weight=w4, reduction=reduction),
            [log_probs], [log_probs, labels(y)], {"weight": w4, "reduction": reduction})
y_ign = torch.tensor([0, 3, 1, 1, 2])
fn_case("cross_entropy", lambda x: F.cross_entropy(x, y_ign, ignore_index=1, label_smoothing=0.2),
        [logits], [logits, labels(y_ign, 1, 2)], {"ignore_index": 2, "label_smoothing": 0.2})
fn_case("cross_entropy",
        lambda x: F.cross_entropy(x, y_ign, weight=w4, ignore_index=3, label_smoothing=0.1),
        [logits], [logits, labels(y_ign, 3, 4)],
        {"weight": w4, "ignore_index": 4, "label_smoothing": 0.1})
y_def = torch.tensor([0, -100, 1, -100, 2])
fn_case("cross_entropy", lambda x: F.cross_entropy(x, y_def), [logits], [logits, labels(y_def)])
fn_case("nll_loss", lambda x: F.nll_loss(x, y_ign, ignore_index=0, reduction="sum"),
        [logits], [logits, labels(y_ign, 0, 1)], {"ignore_index": 1, "reduction": "sum"})
# (N, C, d1, d2) scores, odd sizes
scores = torch.randn(2, 3, 3, 5)
y_img = torch.randint(0, 3, (2, 3, 5))
for reduction in ["mean", "none"]:
    fn_case("cross_entropy", lambda x: F.cross_entropy(x, y_img, weight=w4[:3], reduction=reduction),
            [scores], [scores, labels(y_img)], {"weight": w4[:3], "reduction": reduction})
fn_case("nll_loss", lambda x: F.nll_loss(x, y_img, ignore_index=2),
        [scores.log_softmax(1)], [scores.log_softmax(1), labels(y_img, 2, 3)], {"ignore_index": 3},
        swapped=True)
# probability targets, gradients to both
probs = torch.softmax(torch.randn(5, 4), 1)
fn_case("cross_entropy", lambda x, t: F.cross_entropy(x, t), [logits, probs])
fn_case("cross_entropy", lambda x, t: F.cross_entropy(x, t, weight=w4, label_smoothing=0.3,
                                                      reduction="sum"),
        [logits, probs], None, {"weight": w4, "label_smoothing": 0.3, "reduction": "sum"})
probs_img = torch.softmax(torch.randn(2, 3, 3, 5), 1)
fn_case("cross_entropy", lambda x, t: F.cross_entropy(x, t, reduction="none"), [scores, probs_img],
        None, {"reduction": "none"})
# an empty batch: mean is nan, sum 0
empty = torch.randn(0, 4)
fn_case("cross_entropy", lambda x: F.cross_entropy(x, torch.zeros(0, dtype=torch.long), reduction="sum"),
        [empty], [empty, torch.zeros(0)], {"reduction": "sum"})

# ---- weighted binary losses ------------------------------------------------------

z = torch.randn(4, 3) * 3
z[0, 0] = 0.0                      # the kink of the stable formula
t = torch.rand(4, 3)
w3 = torch.tensor([0.5, 1.0, 2.0])
pw = torch.tensor([1.0, 3.0, 0.5])
for reduction in ["mean", "sum", "none"]:
    fn_case("bce", lambda p, tt: F.binary_cross_entropy(p, tt, weight=w3, reduction=reduction),
            [torch.sigmoid(z), t], None, {"weight": w3, "reduction": reduction}, grad=[True, False])
    fn_case("bce_with_logits",
            lambda x, tt: F.binary_cross_entropy_with_logits(x, tt, weight=w3, pos_weight=pw,
                                                             reduction=reduction),
            [z, t], None, {"weight": w3, "pos_weight": pw, "reduction": reduction}, swapped=True)
fn_case("bce_with_logits", lambda x, tt: F.binary_cross_entropy_with_logits(x, tt), [z, t])
fn_case("bce_with_logits", lambda x, tt: F.binary_cross_entropy_with_logits(x, tt, pos_weight=pw),
        [z, t], None, {"pos_weight": pw})

# ---- regression and distribution losses -------------------------------------------

a = torch.randn(3, 5)
b = a + torch.randn(3, 5) * 1.5
for reduction in ["mean", "sum", "none"]:
    fn_case("smooth_l1_loss", lambda p, q: F.smooth_l1_loss(p, q, beta=0.7, reduction=reduction),
            [a, b], None, {"beta": 0.7, "reduction": reduction}, swapped=True)
    fn_case("huber_loss", lambda p, q: F.huber_loss(p, q, delta=0.6, reduction=reduction),
            [a, b], None, {"delta": 0.6, "reduction": reduction})
fn_case("smooth_l1_loss", lambda p, q: F.smooth_l1_loss(p, q), [a, b])
fn_case("smooth_l1_loss", lambda p, q: F.smooth_l1_loss(p, q, beta=0.0), [a, b], None, {"beta": 0})
fn_case("huber_loss", lambda p, q: F.huber_loss(p, q), [a, b])
logp = torch.log_softmax(torch.randn(4, 6), 1)
q = torch.softmax(torch.randn(4, 6), 1)
q[0, 2] = 0.0                      # 0 log 0 counts as 0
for reduction in ["mean", "sum", "none", "batchmean"]:
    fn_case("kl_div", lambda i, tt: F.kl_div(i, tt, reduction=reduction), [logp, q], None,
            {"reduction": reduction}, grad=[True, False])
fn_case("kl_div", lambda i, tt: F.kl_div(i, tt, reduction="batchmean", log_target=True),
        [logp, torch.log_softmax(torch.randn(4, 6), 1)], None,
        {"reduction": "batchmean", "log_target": True})
x1, x2 = torch.randn(5, 4), torch.randn(5, 4)
x2[1] = x1[1] * 2                  # cos = 1
ysign = torch.tensor([1.0, 1.0, -1.0, -1.0, 1.0])
for reduction in ["mean", "sum", "none"]:
    fn_case("cosine_embedding_loss",
            lambda u, v: F.cosine_embedding_loss(u, v, ysign, margin=0.2, reduction=reduction),
            [x1, x2], [x1, x2, ysign], {"margin": 0.2, "reduction": reduction})
fn_case("cosine_embedding_loss", lambda u, v: F.cosine_embedding_loss(u, v, ysign),
        [x1, x2], [x1, x2, ysign], swapped=True)

# ---- output --------------------------------------------------------------------------

with open(sys.argv[1], "w") as out:
    out.write("return {\n")
    for case in cases:
        out.write("  " + lua_value(case) + ",\n")
    out.write("}\n")
