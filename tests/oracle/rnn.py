#!/usr/bin/python3
"""rnn.py OUT.lua -- PyTorch's answers for the recurrent layers and cells.

Each case builds a torch.nn RNN/LSTM/GRU (or cell), seeded, runs it on a
random input (with initial states and variable lengths through
pack_padded_sequence where the case asks), and writes to a Lua file the
constructor's arguments, the state_dict, the inputs, the outputs and the
gradients of the input, the states and every parameter under random upstream
gradients. tests/lua/rnn_oracle_spec.lua rebuilds each case with dl.
"""
import sys
import warnings

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

warnings.filterwarnings("ignore")
cases = []


def lua_value(v):
    if isinstance(v, torch.Tensor):
        t = v.detach().to(torch.float32).contiguous()
        values = ", ".join("%.9g" % x for x in t.flatten().tolist())
        return "{shape = {%s}, data = {%s}}" % (", ".join(str(s) for s in t.shape), values)
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


def detached(t):
    return None if t is None else t.detach()


def grad_of(t):
    return None if t is None else t.grad


def make(kind, input_size, hidden, opts):
    torch_opts = dict(opts)
    return getattr(nn, kind)(input_size, hidden, **torch_opts)


def layer_case(kind, input_size, hidden, opts, x_shape, state=False, lengths=None):
    """A layer on x of x_shape (as the layer reads it), with random initial
    states when `state`, and per-sequence lengths when given."""
    torch.manual_seed(len(cases) + 1)
    layer = make(kind, input_size, hidden, opts)
    x = torch.randn(*x_shape).requires_grad_(True)
    directions = 2 if opts.get("bidirectional") else 1
    unbatched = len(x_shape) == 2
    batch_first = opts.get("batch_first", False)
    n = None if unbatched else x_shape[0 if batch_first else 1]
    steps = x_shape[0] if unbatched or not batch_first else x_shape[1]
    state_shape = [opts.get("num_layers", 1) * directions] + ([] if unbatched else [n]) + [hidden]
    h0 = torch.randn(*state_shape).requires_grad_(True) if state else None
    c0 = torch.randn(*state_shape).requires_grad_(True) if state and kind == "LSTM" else None
    hx = None
    if state:
        hx = (h0, c0) if kind == "LSTM" else h0
    if lengths is not None:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                      enforce_sorted=False)
        out, hn = layer(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=steps)
    else:
        out, hn = layer(x, hx)
    h_n, c_n = (hn if kind == "LSTM" else (hn, None))
    up_out, up_h = torch.randn_like(out), torch.randn_like(h_n)
    loss = (out * up_out).sum() + (h_n * up_h).sum()
    up_c = None
    if c_n is not None:
        up_c = torch.randn_like(c_n)
        loss = loss + (c_n * up_c).sum()
    loss.backward()
    cases.append(dict(
        kind=kind, layer=True, args=[input_size, hidden], opts=opts,
        params={k: v.detach() for k, v in layer.state_dict().items()},
        x=x.detach(), h0=detached(h0), c0=detached(c0), lengths=lengths,
        output=out, h_n=h_n, c_n=c_n, up_out=up_out, up_h=up_h, up_c=up_c,
        grads=dict(x=x.grad, h0=grad_of(h0), c0=grad_of(c0),
                   **{k: p.grad for k, p in layer.named_parameters()})))


def cell_case(kind, input_size, hidden, opts, x_shape, state=False):
    torch.manual_seed(len(cases) + 1)
    cell = getattr(nn, kind + "Cell")(input_size, hidden, **opts)
    x = torch.randn(*x_shape).requires_grad_(True)
    state_shape = list(x_shape[:-1]) + [hidden]
    h0 = torch.randn(*state_shape).requires_grad_(True) if state else None
    c0 = torch.randn(*state_shape).requires_grad_(True) if state and kind == "LSTM" else None
    if kind == "LSTM":
        h_n, c_n = cell(x, (h0, c0) if state else None)
    else:
        h_n, c_n = cell(x, h0), None
    up_h = torch.randn_like(h_n)
    loss = (h_n * up_h).sum()
    up_c = None
    if c_n is not None:
        up_c = torch.randn_like(c_n)
        loss = loss + (c_n * up_c).sum()
    loss.backward()
    cases.append(dict(
        kind=kind, layer=False, args=[input_size, hidden], opts=opts,
        params={k: v.detach() for k, v in cell.state_dict().items()},
        x=x.detach(), h0=detached(h0), c0=detached(c0),
        h_n=h_n, c_n=c_n, up_h=up_h, up_c=up_c,
        grads=dict(x=x.grad, h0=grad_of(h0), c0=grad_of(c0),
                   **{k: p.grad for k, p in cell.named_parameters()})))


for kind in ["RNN", "LSTM", "GRU"]:
    layer_case(kind, 5, 4, {}, [6, 3, 5])
    layer_case(kind, 5, 4, {"num_layers": 2}, [6, 3, 5], state=True)
    layer_case(kind, 5, 4, {"bidirectional": True}, [6, 3, 5], state=True)
    layer_case(kind, 3, 4, {"num_layers": 2, "bidirectional": True, "batch_first": True},
               [3, 5, 3], state=True)
    layer_case(kind, 5, 4, {}, [6, 4, 5], lengths=[6, 2, 4, 1])
    layer_case(kind, 3, 4, {"num_layers": 2, "bidirectional": True, "batch_first": True},
               [4, 5, 3], state=True, lengths=[3, 5, 1, 4])
    layer_case(kind, 5, 4, {"bias": False}, [4, 5], state=True)   # unbatched
    cell_case(kind, 5, 4, {}, [3, 5])
    cell_case(kind, 5, 4, {}, [3, 5], state=True)
    cell_case(kind, 5, 4, {"bias": False}, [5], state=True)
layer_case("RNN", 5, 4, {"nonlinearity": "relu", "num_layers": 2}, [6, 3, 5], state=True)
cell_case("RNN", 5, 4, {"nonlinearity": "relu"}, [3, 5], state=True)

with open(sys.argv[1], "w") as out:
    out.write("return {\n")
    for case in cases:
        out.write("  " + lua_value(case) + ",\n")
    out.write("}\n")
