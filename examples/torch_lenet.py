"""A PyTorch LeNet-5 (the C trainer's layers) trained digitally on MNIST,
converted to fgcosim's analog tiles and fine-tuned hardware-aware through
the fitted model (backend hwa):

    FGCOSIM_LIB=build/api/libfgcosim.so PYTHONPATH=python /usr/bin/python3 \\
        examples/torch_lenet.py --model model.json --limit 6000 --epochs 1

Prints test accuracy digital, converted as is on the ideal and hwa
backends, and after the HWA fine-tune; and images/s of each epoch.
MNIST: the four IDX files in data/mnist (scripts/fetch-mnist.sh).
"""
import argparse
import os
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import fgcosim
import fgcosim.torch as ft


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def mnist(folder, split, limit):
    pre = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(folder, f"{pre}-images-idx3-ubyte"))[:limit]
    y = read_idx(os.path.join(folder, f"{pre}-labels-idx1-ubyte"))[:limit]
    return (torch.from_numpy(x.astype(np.float32) / 255).unsqueeze(1),
            torch.from_numpy(y.astype(np.int64)))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def epoch(net, x, y, opt, batch, gen):
    net.train()
    perm = torch.randperm(len(x), generator=gen)
    t0 = time.perf_counter()
    for i in range(0, len(x), batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    return len(x) / (time.perf_counter() - t0)


@torch.no_grad()
def accuracy(net, x, y, batch=500):
    net.eval()
    hits = sum(int((net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
               for i in range(0, len(x), batch))
    return 100.0 * hits / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="MODEL.json of fgcosim fit")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--limit", type=int, default=60000, help="training images")
    ap.add_argument("--limit-test", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=3, help="digital epochs")
    ap.add_argument("--hwa-epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    fgcosim.set_threads(args.threads)  # fgcosim, OpenBLAS and torch together
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    xtr, ytr = mnist(args.data, "train", args.limit)
    xte, yte = mnist(args.data, "test", args.limit_test)

    net = lenet5()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for e in range(args.epochs):
        rate = epoch(net, xtr, ytr, opt, 64, gen)
        print(f"digital epoch {e + 1}: {rate:.0f} images/s, "
              f"test {accuracy(net, xte, yte):.2f} %")

    # Pixels are pulses in [0,1]: the first layer's scale is fixed at 1; the
    # others start at the maximum of one batch of the digital activations
    # (the ideal backend), as an ideal-trained C checkpoint carries them.
    net = ft.convert_to_analog(net, backend="ideal")
    layers = ft.analog_layers(net)
    layers[0].learn_input_scale = False
    layers[0].input_scale.fill_(1.0)
    with torch.no_grad():
        net.train()(xtr[:500])
    acc_ideal = accuracy(net, xte, yte)
    for m in layers:
        m.set_backend("hwa:" + args.model)
    print(f"converted: ideal {acc_ideal:.2f} %, hwa {accuracy(net, xte, yte):.2f} %")

    opt = torch.optim.Adam(net.parameters(), lr=3e-4)
    for e in range(args.hwa_epochs):
        rate = epoch(net, xtr, ytr, opt, 64, gen)
        print(f"hwa epoch {e + 1}: {rate:.0f} images/s, "
              f"test on hwa {accuracy(net, xte, yte):.2f} %")


if __name__ == "__main__":
    main()
