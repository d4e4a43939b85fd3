#!/usr/bin/python3
"""prune.py OUT.lua -- PyTorch's answers for tests/lua/prune_spec.lua.

A small CNN (Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d -> Flatten ->
Linear -> ReLU -> Linear) with seeded weights and running statistics. Its
filters and hidden neurons are chosen by torch.nn.utils.prune.ln_structured
(L1 norm over output channels, amount 0.5), and the model is then sliced to
the kept channels by hand: the reference for nn.prune.channels. Writes the
weights, the input, the kept channel lists (1-based) and the outputs of the
whole and of the sliced model (eval mode) as a Lua table.
"""
import sys

import torch
from torch import nn
from torch.nn.utils import prune

torch.manual_seed(0)


def lua(v):
    if isinstance(v, torch.Tensor):
        return lua(v.tolist())
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


conv, bn, fc1, fc2 = nn.Conv2d(2, 6, 3), nn.BatchNorm2d(6), nn.Linear(6 * 3 * 3, 10), nn.Linear(10, 3)
with torch.no_grad():
    bn.weight.uniform_(0.5, 1.5)
    bn.bias.uniform_(-0.5, 0.5)
    bn.running_mean.uniform_(-0.2, 0.2)
    bn.running_var.uniform_(0.5, 1.5)
model = nn.Sequential(conv, bn, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), fc1, nn.ReLU(), fc2).eval()
weights = {
    "conv_weight": conv.weight.detach().clone(), "conv_bias": conv.bias.detach().clone(),
    "bn_weight": bn.weight.detach().clone(), "bn_bias": bn.bias.detach().clone(),
    "bn_mean": bn.running_mean.clone(), "bn_var": bn.running_var.clone(),
    "fc1_weight": fc1.weight.detach().clone(), "fc1_bias": fc1.bias.detach().clone(),
    "fc2_weight": fc2.weight.detach().clone(), "fc2_bias": fc2.bias.detach().clone(),
}
x = torch.randn(2, 2, 8, 8)
with torch.no_grad():
    whole = model(x)


def kept_channels(layer):
    prune.ln_structured(layer, "weight", amount=0.5, n=1, dim=0)
    mask = layer.weight_mask.reshape(layer.weight_mask.shape[0], -1).amax(1)
    prune.remove(layer, "weight")
    return [i for i in range(mask.shape[0]) if mask[i] > 0]


kept_conv, kept_fc1 = kept_channels(conv), kept_channels(fc1)
per = 3 * 3
columns = [c * per + s for c in kept_conv for s in range(per)]
W = weights
small = nn.Sequential(nn.Conv2d(2, len(kept_conv), 3), nn.BatchNorm2d(len(kept_conv)), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(len(columns), len(kept_fc1)),
                      nn.ReLU(), nn.Linear(len(kept_fc1), 3)).eval()
with torch.no_grad():
    small[0].weight.copy_(W["conv_weight"][kept_conv])
    small[0].bias.copy_(W["conv_bias"][kept_conv])
    small[1].weight.copy_(W["bn_weight"][kept_conv])
    small[1].bias.copy_(W["bn_bias"][kept_conv])
    small[1].running_mean.copy_(W["bn_mean"][kept_conv])
    small[1].running_var.copy_(W["bn_var"][kept_conv])
    small[5].weight.copy_(W["fc1_weight"][kept_fc1][:, columns])
    small[5].bias.copy_(W["fc1_bias"][kept_fc1])
    small[7].weight.copy_(W["fc2_weight"][:, kept_fc1])
    small[7].bias.copy_(W["fc2_bias"])
    pruned = small(x)

with open(sys.argv[1], "w") as out:
    out.write("return " + lua({
        "weights": weights, "x": x, "whole": whole, "pruned": pruned,
        "kept_conv": [c + 1 for c in kept_conv], "kept_fc1": [c + 1 for c in kept_fc1],
    }) + "\n")
