#!/usr/bin/python3
"""save.py -- PyTorch's side of tests/lua/save_spec.lua: safetensors files
written by dl are read here, and files for dl are written here, with a
short reader and writer of the format (struct + json + torch.frombuffer; no
safetensors package).

    save.py from_dl DIR   reads DIR/cnn.safetensors and DIR/emb.safetensors
                          (models saved by dl) and their inputs, loads each
                          into the same torch.nn.Sequential with
                          load_state_dict(strict=True) and writes the eval
                          outputs to DIR/torch_outputs.safetensors
    save.py to_dl DIR     writes DIR/torch_cnn.safetensors and
                          DIR/torch_emb.safetensors (state dicts of trained
                          torch models), DIR/torch_io.safetensors (inputs
                          and outputs), DIR/dtypes.safetensors (one tensor
                          per dtype dl reads)
"""
import json
import struct
import sys

import torch
from torch import nn

DTYPES = {
    "F32": torch.float32, "F64": torch.float64, "F16": torch.float16,
    "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
    "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


def read(path):
    """name -> tensor and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        if end > begin:
            flat = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype)
        else:
            flat = torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
    return tensors, metadata


def write(path, tensors, metadata=None):
    """Writes name -> tensor as the reference writer does."""
    header = {"__metadata__": metadata} if metadata else {}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 \
            else t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(b"".join(blobs))


def cnn():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(36, 16), nn.BatchNorm1d(16),
        nn.Tanh(), nn.Dropout(0.5), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 3),
        nn.LogSoftmax(dim=1))


def emb():
    return nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2), nn.Sigmoid())


def from_dl(folder):
    outputs = {}
    for name, build in (("cnn", cnn), ("emb", emb)):
        model = build()
        state, metadata = read(f"{folder}/{name}.safetensors")
        assert metadata.get("format") == "pt", metadata
        model.load_state_dict(state, strict=True)
        model.eval()
        inputs, _ = read(f"{folder}/{name}_input.safetensors")
        x = inputs["tensor"]
        if name == "emb":
            x = x.long() - 1                      # dl's indices count from 1
        with torch.no_grad():
            outputs[name] = model(x)
        if name == "cnn":
            outputs["cnn_batches"] = model[1].num_batches_tracked.float()
    write(f"{folder}/torch_outputs.safetensors", outputs)


def to_dl(folder):
    torch.manual_seed(0)
    io = {}
    for name, build in (("cnn", cnn), ("emb", emb)):
        model = build()
        if name == "cnn":
            model.train()
            for _ in range(3):                    # moves the running statistics
                model(torch.randn(6, 2, 8, 8))
            x = torch.randn(5, 2, 8, 8)
            io["cnn_x"] = x
        else:
            x = torch.randint(0, 10, (5, 3))
            io["emb_x"] = (x + 1).float()
        model.eval()
        with torch.no_grad():
            io[name + "_y"] = model(x)
        write(f"{folder}/torch_{name}.safetensors", model.state_dict())
    write(f"{folder}/torch_io.safetensors", io)
    values = torch.arange(-3, 3)
    dtypes = {name.lower(): (values * (0.5 if dtype.is_floating_point else 1)).to(dtype)
              for name, dtype in DTYPES.items() if name not in ("U8", "BOOL")}
    dtypes["u8"] = torch.arange(250, 256).to(torch.uint8)
    dtypes["bool"] = values > 0
    special = torch.tensor([6e-8, 1e-5, 65504, float("inf"), float("-inf"), -2.5])
    dtypes["f16_special"] = special.half()
    dtypes["f16_special_f32"] = special.half().float()
    dtypes["bf16_special"] = torch.tensor([1e-30, 3e38, -7.1]).bfloat16()
    dtypes["bf16_special_f32"] = dtypes["bf16_special"].float()
    write(f"{folder}/dtypes.safetensors", dtypes, {"written_by": "save.py"})


if __name__ == "__main__":
    {"from_dl": from_dl, "to_dl": to_dl}[sys.argv[1]](sys.argv[2])
