"""bench_train_torch.py -- bench_train.lua's workloads in PyTorch.

    /usr/bin/python3 scripts/bench/bench_train_torch.py THREADS

Prints tiny_step_us, mlp_epoch_s and cnn_epoch_s as "key value" lines,
measured exactly as bench_train.lua measures them.
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
torch.set_num_threads(threads)
torch.manual_seed(1)

ITERS = 20000
w = torch.randn(16, requires_grad=True)
x16 = torch.randn(16)


def tiny_steps(n):
    for _ in range(n):
        loss = ((w * x16).sum() - 1) ** 2
        loss.backward()
        w.grad = None


tiny_steps(ITERS // 4)
runs = []
for _ in range(7):
    start = time.perf_counter()
    tiny_steps(ITERS // 4)
    runs.append((time.perf_counter() - start) / (ITERS // 4))
print("tiny_step_us %.3f" % (min(runs) * 1e6))

N, BATCH, EPOCHS = 60000, 64, 3
images = torch.randn(N, 784)
labels = torch.randint(0, 10, (N,))


def epoch(model, inputs, batches=None):
    """Seconds for one epoch (or its first `batches` batches)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    order = torch.randperm(N)
    stop = batches * BATCH if batches else N
    start = time.perf_counter()
    for i in range(0, stop, BATCH):
        idx = order[i:i + BATCH]
        loss = F.cross_entropy(model(inputs[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def best_epoch(model, inputs, warmup_batches):
    """The best of EPOCHS epochs, after a short warm-up."""
    epoch(model, inputs, warmup_batches)
    return min(epoch(model, inputs) for _ in range(EPOCHS))


mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
print("mlp_epoch_s %.4f" % best_epoch(mlp, images, 100))

cnn = nn.Sequential(
    nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(1568, 10))
image_batches = images.reshape(N, 1, 28, 28)
print("cnn_epoch_s %.4f" % best_epoch(cnn, image_batches, 10))
