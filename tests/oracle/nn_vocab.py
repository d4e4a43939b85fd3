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
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")
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
    if not isinstance(x, torch.Tensor):
        return {"value": x}
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

# ---- convolution ----------------------------------------------------------------------

img = torch.randn(2, 4, 7, 6)
conv_cases = [
    ({"dilation": 2}, dict(dilation=2)),
    ({"dilation": [2, 1], "padding": [2, 1]}, dict(dilation=(2, 1), padding=(2, 1))),
    ({"groups": 2}, dict(groups=2)),
    ({"groups": 4, "padding": 1}, dict(groups=4, padding=1)),
    ({"groups": 2, "dilation": 2, "stride": 2, "padding": 1},
     dict(groups=2, dilation=2, stride=2, padding=1)),
    ({"padding": "same"}, dict(padding="same")),
    ({"padding": "valid", "bias": False}, dict(padding="valid", bias=False)),
    ({"padding": "same", "dilation": [1, 2]}, dict(padding="same", dilation=(1, 2))),
    ({"padding": 1, "padding_mode": "reflect"}, dict(padding=1, padding_mode="reflect")),
    ({"padding": [2, 1], "padding_mode": "replicate"}, dict(padding=(2, 1), padding_mode="replicate")),
    ({"padding": 1, "padding_mode": "circular", "stride": 2},
     dict(padding=1, padding_mode="circular", stride=2)),
    ({"padding": "same", "padding_mode": "reflect", "groups": 2},
     dict(padding="same", padding_mode="reflect", groups=2)),
]
for k in [3, (4, 2)]:
    for dl_opts, torch_opts in conv_cases:
        layer_case("Conv2d", lambda: nn.Conv2d(4, 8, k, **torch_opts), img,
                   [4, 8, list(k) if isinstance(k, tuple) else k], dl_opts,
                   swapped=dl_opts.get("groups") == 2)
layer_case("Conv2d", lambda: nn.Conv2d(4, 4, 3, groups=4, padding="same"), torch.randn(0, 4, 5, 5),
           [4, 4, 3], {"groups": 4, "padding": "same"})
seq = torch.randn(3, 4, 11)
for dl_opts, torch_opts in [({}, {}), ({"stride": 2, "padding": 2}, dict(stride=2, padding=2)),
                            ({"dilation": 3, "groups": 2}, dict(dilation=3, groups=2)),
                            ({"padding": "same"}, dict(padding="same")),
                            ({"padding": 2, "padding_mode": "circular"},
                             dict(padding=2, padding_mode="circular")),
                            ({"padding": "same", "padding_mode": "reflect"},
                             dict(padding="same", padding_mode="reflect"))]:
    layer_case("Conv1d", lambda: nn.Conv1d(4, 6, 4, **torch_opts), seq, [4, 6, 4], dl_opts,
               swapped=not dl_opts)
pads = torch.randn(2, 3, 4, 5)
for mode in ["constant", "reflect", "replicate", "circular"]:
    fn_case("pad", lambda x: F.pad(x, (2, 1, 3, 0), mode=mode), [pads], [pads, [2, 1, 3, 0]],
            {"mode": mode})
    fn_case("pad", lambda x: F.pad(x, (1, 3), mode=mode), [pads[0]], [pads[0], [1, 3]],
            {"mode": mode}, swapped=True)
fn_case("pad", lambda x: F.pad(x, (1, 1, 1, 1), value=2.5), [pads], [pads, [1, 1, 1, 1]],
        {"value": 2.5})

# ---- pooling ---------------------------------------------------------------------------

pool_img = torch.randn(2, 3, 7, 6)
for dl_opts, torch_opts in [({"ceil_mode": True}, dict(ceil_mode=True)),
                            ({"stride": 2, "padding": 1, "ceil_mode": True},
                             dict(stride=2, padding=1, ceil_mode=True))]:
    layer_case("MaxPool2d", lambda: nn.MaxPool2d(3, **torch_opts), pool_img, [3], dl_opts)
for dl_opts, torch_opts in [({"ceil_mode": True}, dict(ceil_mode=True)),
                            ({"stride": 2, "padding": 1, "count_include_pad": False},
                             dict(stride=2, padding=1, count_include_pad=False)),
                            ({"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
                             dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
                            ({"stride": 2, "padding": 1, "ceil_mode": True},
                             dict(stride=2, padding=1, ceil_mode=True))]:
    layer_case("AvgPool2d", lambda: nn.AvgPool2d(3, **torch_opts), pool_img, [3], dl_opts,
               swapped=True)
for dl_opts, torch_opts in [({}, {}), ({"stride": 2, "padding": 1}, dict(stride=2, padding=1)),
                            ({"stride": 2, "ceil_mode": True}, dict(stride=2, ceil_mode=True))]:
    layer_case("MaxPool1d", lambda: nn.MaxPool1d(3, **torch_opts), seq, [3], dl_opts)
    layer_case("AvgPool1d", lambda: nn.AvgPool1d(3, **torch_opts), seq, [3], dl_opts, swapped=True)
layer_case("AvgPool1d", lambda: nn.AvgPool1d(4, stride=3, padding=2, count_include_pad=False), seq,
           [4], {"stride": 3, "padding": 2, "count_include_pad": False})
for size in [1, 3, [4, 5], [7, 6], [9, 8]]:
    torch_size = tuple(size) if isinstance(size, list) else size
    layer_case("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(torch_size), pool_img, [size],
               swapped=size == 3)
    layer_case("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d(torch_size), pool_img, [size])
layer_case("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(2), torch.randn(0, 3, 5, 5), [2])

# ---- upsampling --------------------------------------------------------------------------

small = torch.randn(2, 3, 4, 5)
for opts in [{"scale_factor": 2}, {"scale_factor": [3, 1.5]}, {"size": [7, 3]}, {"size": 9},
             {"scale_factor": 2, "mode": "bilinear"}, {"size": [7, 3], "mode": "bilinear"},
             {"scale_factor": 1.7, "mode": "bilinear", "align_corners": True},
             {"size": [1, 8], "mode": "bilinear", "align_corners": True},
             {"size": [2, 3], "mode": "bilinear"}]:
    torch_opts = {k: tuple(v) if isinstance(v, list) else v for k, v in opts.items()}
    layer_case("Upsample", lambda: nn.Upsample(**torch_opts), small, [], opts,
               swapped="size" in opts)
    fn_case("interpolate", lambda x: F.interpolate(x, **torch_opts), [small], None, opts)

line = torch.randn(2, 3, 5)
for opts in [{"scale_factor": 2}, {"size": 7}, {"scale_factor": 1.6, "mode": "linear"},
             {"size": 3, "mode": "linear", "align_corners": True}]:
    layer_case("Upsample", lambda: nn.Upsample(**opts), line, [], opts, swapped="size" in opts)

# ---- normalisation -------------------------------------------------------------------------

layer_case("BatchNorm1d", lambda: nn.BatchNorm1d(4), seq * 2 + 1, [4], swapped=True)
layer_case("BatchNorm1d", lambda: nn.BatchNorm1d(4), seq * 2 + 1, [4], train=False)
layer_case("BatchNorm1d", lambda: nn.BatchNorm1d(4, affine=False, momentum=0.3), seq, [4],
           {"affine": False, "momentum": 0.3})
layer_case("LayerNorm", lambda: nn.LayerNorm((4, 11)), seq, [[4, 11]], swapped=True)
layer_case("LayerNorm", lambda: nn.LayerNorm((3, 7, 6), eps=1e-3), pool_img, [[3, 7, 6]], {"eps": 1e-3})
layer_case("LayerNorm", lambda: nn.LayerNorm([11]), seq, [[11]])
layer_case("LayerNorm", lambda: nn.LayerNorm((7, 6), elementwise_affine=False), pool_img, [[7, 6]],
           {"affine": False})

# ---- more corners: smoothing over extra dims, empty batches, broadcast weights ----------

fn_case("cross_entropy", lambda x: F.cross_entropy(x, y_img, label_smoothing=0.25, weight=w4[:3]),
        [scores], [scores, labels(y_img)], {"label_smoothing": 0.25, "weight": w4[:3]}, swapped=True)
fn_case("cross_entropy", lambda x: F.cross_entropy(x, torch.zeros(0, 3, 5, dtype=torch.long),
                                                  reduction="none"),
        [torch.randn(0, 3, 3, 5)], [torch.randn(0, 3, 3, 5), torch.zeros(0, 3, 5)], {"reduction": "none"})
maps = torch.randn(2, 3, 4, 5)
fn_case("bce_with_logits",
        lambda x, tt: F.binary_cross_entropy_with_logits(x, tt, pos_weight=torch.tensor([[[2.0]], [[0.5]], [[1.0]]])),
        [maps, torch.rand(2, 3, 4, 5)], None, {"pos_weight": torch.tensor([[[2.0]], [[0.5]], [[1.0]]])},
        grad=[True, False])
empty_img = torch.randn(0, 3, 6, 5)
layer_case("MaxPool2d", lambda: nn.MaxPool2d(2, ceil_mode=True), empty_img, [2], {"ceil_mode": True})
layer_case("Upsample", lambda: nn.Upsample(scale_factor=2, mode="bilinear"), empty_img, [],
           {"scale_factor": 2, "mode": "bilinear"})
fn_case("pad", lambda x: F.pad(x, (1, 2, 2, 1), mode="reflect"), [empty_img],
        [empty_img, [1, 2, 2, 1]], {"mode": "reflect"})
layer_case("Conv1d", lambda: nn.Conv1d(4, 4, 3, groups=4, padding="same"), torch.randn(0, 4, 7),
           [4, 4, 3], {"groups": 4, "padding": "same"})

# ---- output --------------------------------------------------------------------------

with open(sys.argv[1], "w") as out:
    out.write("return {\n")
    for case in cases:
        out.write("  " + lua_value(case) + ",\n")
    out.write("}\n")
