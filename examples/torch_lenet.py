"""A PyTorch LeNet-5 (the C trainer's layers) trained digitally on MNIST,
converted to fgcosim's analog tiles and fine-tuned hardware-aware through
the fitted model (backend hwa):

    FGCOSIM_LIB=build/api/libfgcosim.so PYTHONPATH=python /usr/bin/python3 \\
        examples/torch_lenet.py --model model.json --limit 6000 --epochs 1

Prints test accuracy digital, converted as is on the ideal and hwa
backends, and after the HWA fine-tune; and images/s of each epoch.
Adam, batch 64, the learning rate cosine-decayed per step over each phase
(digital, HWA), as the C trainer. --c-init CKPT also times, in the same
run and on the same threads, one HWA epoch of the C trainer (`fgcosim
train --net lenet5 --backend hwa --init CKPT --epochs 1`, --fgcosim the
program) on the same model and images, and prints the ratio of the two
epoch times. A JSON summary is the last line.
MNIST: the four IDX files in data/mnist (scripts/fetch-mnist.sh).
"""
import argparse
import json
import math
import os
import subprocess
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


def epoch(net, x, y, opt, batch, gen, sched):
    """One pass in random order; sched(step) sets the rate. Seconds."""
    net.train()
    perm = torch.randperm(len(x), generator=gen)
    t0 = time.perf_counter()
    for i in range(0, len(x), batch):
        idx = perm[i:i + batch]
        sched.step_rate()
        opt.zero_grad()
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    return time.perf_counter() - t0


class Cosine:
    """The C trainer's schedule: lr * (1 + cos(pi * step / steps)) / 2."""

    def __init__(self, opt, lr, steps):
        self.opt, self.lr, self.steps, self.step = opt, lr, steps, 0

    def step_rate(self):
        rate = self.lr * 0.5 * (1.0 + math.cos(math.pi * self.step / self.steps))
        for g in self.opt.param_groups:
            g["lr"] = rate
        self.step += 1


def c_epoch(args):
    """One HWA epoch of the C trainer: its JSON (epoch_seconds, test_accuracy)."""
    out = os.path.join(os.path.dirname(os.path.abspath(args.model)), "torch_lenet_c.ckpt")
    cmd = [args.fgcosim, "train", "--net", "lenet5", "--backend", "hwa", "--model",
           args.model, "--init", args.c_init, "--epochs", "1", "--lr", str(args.hwa_lr),
           "--limit-train", str(args.limit), "--limit-test", str(args.limit_test),
           "--threads", str(args.threads), "--data", "mnist:" + args.data,
           "-o", out, "--json", "--quiet"]
    print("C trainer:", " ".join(cmd), flush=True)
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                  text=True).stdout.strip().splitlines()[-1])
    print(f"C trainer hwa epoch: {r['epoch_seconds']:.1f} s, "
          f"test on hwa {100 * r['test_accuracy']:.2f} %", flush=True)
    return r


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
    ap.add_argument("--lr", type=float, default=1e-3, help="digital rate")
    ap.add_argument("--hwa-lr", type=float, default=5e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--c-init", help="C checkpoint: time the C trainer's HWA epoch too")
    ap.add_argument("--fgcosim", default="build/apps/fgcosim")
    args = ap.parse_args()
    fgcosim.set_threads(args.threads)  # fgcosim, OpenBLAS and torch together
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    xtr, ytr = mnist(args.data, "train", args.limit)
    xte, yte = mnist(args.data, "test", args.limit_test)

    steps = -(-len(xtr) // 64)
    summary = {"train_images": len(xtr), "test_images": len(xte), "threads": args.threads}
    net = lenet5()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = Cosine(opt, args.lr, max(1, args.epochs * steps))
    for e in range(args.epochs):
        sec = epoch(net, xtr, ytr, opt, 64, gen, sched)
        summary["digital"] = accuracy(net, xte, yte)
        print(f"digital epoch {e + 1}: {sec:.1f} s ({len(xtr) / sec:.0f} images/s), "
              f"test {summary['digital']:.2f} %", flush=True)

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
    summary["converted_ideal"], summary["converted_hwa"] = acc_ideal, accuracy(net, xte, yte)
    print(f"converted: ideal {acc_ideal:.2f} %, hwa {summary['converted_hwa']:.2f} %",
          flush=True)

    if args.c_init:
        r = c_epoch(args)
        summary["c_epoch_seconds"] = r["epoch_seconds"]
        summary["c_hwa"] = 100 * r["test_accuracy"]
    opt = torch.optim.Adam(net.parameters(), lr=args.hwa_lr)
    sched = Cosine(opt, args.hwa_lr, max(1, args.hwa_epochs * steps))
    for e in range(args.hwa_epochs):
        sec = epoch(net, xtr, ytr, opt, 64, gen, sched)
        summary.setdefault("hwa_epoch_seconds", sec)
        summary["hwa"] = accuracy(net, xte, yte)
        print(f"hwa epoch {e + 1}: {sec:.1f} s ({len(xtr) / sec:.0f} images/s), "
              f"test on hwa {summary['hwa']:.2f} %", flush=True)
    if args.c_init and args.hwa_epochs:
        summary["epoch_ratio"] = summary["hwa_epoch_seconds"] / summary["c_epoch_seconds"]
        print(f"PyTorch / C trainer HWA epoch: {summary['epoch_ratio']:.2f}x")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
