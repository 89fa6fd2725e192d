"""A small ResNet (a net the C trainer does not have: residual blocks with
BatchNorm) trained digitally on MNIST, converted to fgcosim's analog tiles
with convert_to_analog and fine-tuned hardware-aware through the fitted
model (backend hwa):

    FGCOSIM_LIB=build/api/libfgcosim.so PYTHONPATH=python /usr/bin/python3 \\
        examples/torch_resnet.py --model model.json --limit-hwa 10000

The net: a 3x3 stem (1->8, stride 2, 14x14), then three basic blocks
(8->8 at 14x14; 8->16 and 16->32, stride 2, with 1x1 projection
shortcuts), global average pooling and a 32->10 classifier; every conv is
bias-free and followed by BatchNorm, as in ResNet. All 10 convs and the
classifier run on the tiles; BatchNorm, ReLU, the residual additions and
the pooling stay digital. Every analog layer's input is non-negative (the
pixels, or a ReLU's output, or its average), as the pulse mapping needs.
Prints test accuracy digital, converted as is on ideal and hwa, and after
the HWA fine-tune (--limit-hwa: on the first N training images only, the
tiles' cost); a JSON summary is the last line.
"""
import argparse
import json

import torch
from torch import nn
from torch.nn import functional as F

import fgcosim
import fgcosim.torch as ft
from torch_lenet import Cosine, accuracy, epoch, mnist


class Block(nn.Module):
    """ResNet's basic block: conv-BN-ReLU-conv-BN plus the shortcut, ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.short is None else self.short(x)))


def resnet():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        Block(8, 8, 1), Block(8, 16, 2), Block(16, 32, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="MODEL.json of fgcosim fit")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--limit", type=int, default=60000, help="digital training images")
    ap.add_argument("--limit-hwa", type=int, default=60000, help="HWA training images")
    ap.add_argument("--limit-test", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=3, help="digital epochs")
    ap.add_argument("--hwa-epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--hwa-lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    fgcosim.set_threads(args.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    xtr, ytr = mnist(args.data, "train", args.limit)
    xte, yte = mnist(args.data, "test", args.limit_test)
    summary = {"train_images": len(xtr), "test_images": len(xte)}

    net = resnet()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = Cosine(opt, args.lr, max(1, args.epochs * -(-len(xtr) // 64)))
    for e in range(args.epochs):
        sec = epoch(net, xtr, ytr, opt, 64, gen, sched)
        summary["digital"] = accuracy(net, xte, yte)
        print(f"digital epoch {e + 1}: {sec:.1f} s, test {summary['digital']:.2f} %",
              flush=True)

    # The stem sees pixels in [0,1] (scale fixed at 1); the others start at
    # the maximum of their input on one batch (BatchNorm in eval mode, so
    # that batch does not move its statistics).
    net = ft.convert_to_analog(net, backend="ideal")
    layers = ft.analog_layers(net)
    summary["analog_layers"] = len(layers)
    layers[0].learn_input_scale = False
    layers[0].input_scale.fill_(1.0)
    with torch.no_grad():
        net.eval()(xtr[:500])
    summary["converted_ideal"] = accuracy(net, xte, yte)
    for m in layers:
        m.set_backend("hwa:" + args.model)
    summary["converted_hwa"] = accuracy(net, xte, yte)
    print(f"converted ({len(layers)} analog layers): ideal "
          f"{summary['converted_ideal']:.2f} %, hwa {summary['converted_hwa']:.2f} %",
          flush=True)

    xh, yh = xtr[:args.limit_hwa], ytr[:args.limit_hwa]
    summary["hwa_train_images"] = len(xh)
    opt = torch.optim.Adam(net.parameters(), lr=args.hwa_lr)
    sched = Cosine(opt, args.hwa_lr, max(1, args.hwa_epochs * -(-len(xh) // 64)))
    for e in range(args.hwa_epochs):
        sec = epoch(net, xh, yh, opt, 64, gen, sched)
        summary["hwa_epoch_seconds"] = sec
        summary["hwa"] = accuracy(net, xte, yte)
        print(f"hwa epoch {e + 1}: {sec:.1f} s ({len(xh) / sec:.0f} images/s), "
              f"test on hwa {summary['hwa']:.2f} %", flush=True)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
