"""PyTorch layers on fgcosim's analog 16x16 tiles, in the spirit of IBM
aihwkit's AnalogLinear / AnalogConv2d / convert_to_analog.

    import torch, fgcosim.torch as ft
    net = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(),
                              torch.nn.Linear(100, 10))
    net = ft.convert_to_analog(net, backend="hwa:model.json")
    loss = torch.nn.functional.cross_entropy(net(x), labels)
    loss.backward()          # through the fitted model's Jacobian

The mapping is the C trainer's (train/tile.c, train.h "analog tiles"):
  - the layer input a is clipped to [0, s_x] (pulse range; the gradient
    passes where 0 <= a <= s_x) and becomes pulse widths x = a * (1/s_x);
  - W (out, in) is cut into tiles of 16 inputs (word lines) by 8 outputs;
    output k of a tile sits on bit lines 2k (w+) and 2k+1 (w-), with
    v = clamp(W/g, -1, 1), g = max|W|, w+ = max(v,0), w- = max(-v,0), so
    the cells are normalised currents in [0,1]; padding cells are 0;
  - out = b + s_x*g * sum over row tiles r (y_r[2k] - y_r[2k+1]), the
    partial sums added digitally in row order;
  - backward, grad="exact": dy[2k] = s_x*g*dout, dy[2k+1] = -s_x*g*dout
    through the backend's vmm_tiles_backward; da = dx/s_x (then the clip's
    mask), dW = dv/g with dv = dw+ where v >= 0 and -dw- where v < 0; g and
    s_x are constants for the gradient; the bias is digital.
  - backward, grad="linear" (nn_tiled_forward_gains /
    nn_tiled_backward_linear): the per-tile linearisation of the forward,
    one gain per tile column, the least-squares slope of its output over
    its ideal product x . cells in the batch (over 256 vectors spread by
    the golden ratio when there are more; 1 where the product does not
    vary; clipped to [0, 4]); da = dout . (G o W), dW = G o (dout^T . a),
    G the gain of the column each weight's cell sits on. The backend is
    only run forward: any backend trains this way, 'spice:...' included.
  - s_x of a layer: a fixed number (input_scale=...), or the running
    maximum of its input (EMA 0.9 of the batch maximum while training,
    as the C trainer's hidden layers), set by the first batch it sees.
  - conv: im2col in the C trainer's column order (kh, kw, c), then the
    same tiled product.
Inputs and weights must be float32 tensors on the CPU; other dtypes,
devices or shapes raise TypeError/ValueError naming the tensor.
"""
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import Backend, open_backend

ROWS, COLS, PAIRS = 16, 16, 8
SX_MOMENTUM = np.float32(0.9)
GAIN_SAMPLE, GAIN_MAX = 256, 4.0  # train.h: NN_GAIN_MAX, tile.c: NN_GAIN_SAMPLE
GRADS = ("exact", "linear")


def _check_grad(grad):
    if grad not in GRADS:
        raise ValueError(f"grad: expected one of {', '.join(GRADS)}, got {grad!r}")


def _check_tensor(t, name, ndim=None):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dtype != torch.float32:
        raise TypeError(f"{name}: expected dtype torch.float32, got {t.dtype}")
    if t.device.type != "cpu":
        raise ValueError(f"{name}: expected a tensor on the CPU, got device {t.device}")
    if ndim is not None and t.dim() != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {tuple(t.shape)}")


def tile_scale(w):
    """g = max|W| (1 when W is 0), float32 as in nn_tile_scale."""
    g = float(w.detach().abs().max()) if w.numel() else 0.0
    return np.float32(g if g > 0 else 1.0)


def tile_cells(w, g):
    """cells (nr, nc, 16, 16) of W (OC, IC): tile (r,c) holds inputs
    16r.. on its rows and outputs 8c.. as (w+, w-) column pairs."""
    OC, IC = w.shape
    nr, nc = -(-IC // ROWS), -(-OC // PAIRS)
    v = torch.zeros(nc * PAIRS, nr * ROWS, dtype=torch.float32)
    v[:OC, :IC] = torch.clamp(w.detach() / torch.tensor(g), -1.0, 1.0)
    v = v.reshape(nc, PAIRS, nr, ROWS).permute(2, 0, 3, 1)  # (nr, nc, i, k)
    zero = torch.zeros(())
    cells = torch.stack([torch.where(v > 0, v, zero), torch.where(v < 0, -v, zero)], -1)
    return cells.reshape(nr, nc, ROWS, COLS).contiguous()


def tile_pulses(a, s_x):
    """x (nr, N, 16): a (N, IC) (already in [0, s_x]) times 1/s_x, row
    tile r holding inputs 16r.., zero padded."""
    N, IC = a.shape
    nr = -(-IC // ROWS)
    inv = np.float32(1.0) / s_x if s_x > 0 else np.float32(0.0)
    x = torch.zeros(N, nr * ROWS, dtype=torch.float32)
    x[:, :IC] = a.detach() * torch.tensor(inv)
    return x.reshape(N, nr, ROWS).permute(1, 0, 2).contiguous()


def _np(t):
    return t.numpy()


def _gain_sample(N):
    """The vectors of a row tile the gains are estimated on (tile.c's
    gain_sample): all up to GAIN_SAMPLE, else GAIN_SAMPLE by the golden
    ratio."""
    if N <= GAIN_SAMPLE:
        return np.arange(N)
    f = np.arange(GAIN_SAMPLE, dtype=np.float64) * 0.6180339887498949
    return ((f - np.floor(f)) * N).astype(np.int64)


def tile_gains(x, y, cells):
    """gains (nc, 16) of one row tile: the least-squares slope of each
    column's output y (nc, N, 16) against x (N, 16) . cells (nc, 16, 16)."""
    idx = torch.from_numpy(_gain_sample(x.shape[0]))
    M = len(idx)
    z = torch.einsum("mi,cij->cmj", x[idx], cells).double()
    ys = y[:, idx].double()
    sz, szz = z.sum(1), (z * z).sum(1)
    sy, syz = ys.sum(1), (ys * z).sum(1)
    var, cov = M * szz - sz * sz, M * syz - sy * sz
    ok = (var > 1e-6 * M * szz) & (var > 0)
    g = torch.where(ok, cov / torch.where(ok, var, torch.ones_like(var)),
                    torch.ones_like(var))
    return g.clamp(0.0, GAIN_MAX).float()


def _gain_select(gains, w):
    """G (OC, IC): the gain of the column each weight's cell sits on,
    2k for w >= 0, 2k+1 for w < 0, of gains (nr, nc, 16)."""
    OC, IC = w.shape
    nr, nc = gains.shape[0], gains.shape[1]
    g2 = gains.reshape(nr, nc, PAIRS, 2).permute(1, 2, 0, 3)  # (nc, 8, nr, 2)
    g2 = g2.reshape(nc * PAIRS, nr, 1, 2).expand(-1, -1, ROWS, -1)
    g2 = g2.reshape(nc * PAIRS, nr * ROWS, 2)[:OC, :IC]
    return torch.where(w < 0, g2[..., 1], g2[..., 0])


class TiledMatmul(torch.autograd.Function):
    """out (N,OC) = tiled product of a (N,IC) in [0,s_x] with W (OC,IC)
    through a Backend, plus b; backward through the backend's Jacobian
    (grad "exact") or the per-tile gains of the forward (grad "linear")."""

    @staticmethod
    def forward(ctx, a, w, b, s_x, backend, grad="exact"):
        N, IC = a.shape
        OC = w.shape[0]
        g = tile_scale(w)
        s_x = np.float32(s_x)
        cells, x = tile_cells(w, g), tile_pulses(a, s_x)
        nr, nc = cells.shape[0], cells.shape[1]
        scale = torch.tensor(s_x * g)
        out = torch.zeros(N, OC) if b is None else b.detach().expand(N, OC).clone()
        y = torch.empty(nc, N, COLS)
        gains = torch.empty(nr, nc, COLS) if grad == "linear" else None
        for r in range(nr):
            backend.vmm_tiles(_np(cells[r]), _np(x[r]), out=_np(y))
            if gains is not None:
                gains[r] = tile_gains(x[r], y, cells[r])
            d = (y[..., 0::2] - y[..., 1::2]).permute(1, 0, 2).reshape(N, nc * PAIRS)
            out += scale * d[:, :OC]
        if gains is not None:
            ctx.save_for_backward(a.detach(), w.detach(), gains)
        else:
            ctx.save_for_backward(cells, x)
        ctx.g, ctx.s_x, ctx.backend, ctx.dims = g, s_x, backend, (N, IC, OC)
        ctx.has_bias, ctx.grad = b is not None, grad
        return out

    @staticmethod
    def backward(ctx, dout):
        if ctx.grad == "linear":
            return TiledMatmul._backward_linear(ctx, dout)
        cells, x = ctx.saved_tensors
        N, IC, OC = ctx.dims
        g, s_x, be = ctx.g, ctx.s_x, ctx.backend
        need_a, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        db = dout.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        if not (need_a or need_w):
            return None, None, db, None, None, None
        if not be.can_backward:
            raise RuntimeError(f"backend {be.spec!r} has no gradient: train through "
                               "'ideal' or 'hwa:MODEL.json', or with grad='linear'")
        nr, nc = cells.shape[0], cells.shape[1]
        scale = torch.tensor(s_x * g)
        go = torch.zeros(N, nc * PAIRS)
        go[:, :OC] = dout
        go = (scale * go).reshape(N, nc, PAIRS).permute(1, 0, 2)  # (nc, N, 8)
        dy = torch.stack([go, -go], -1).reshape(nc, N, COLS).contiguous()
        inv = torch.tensor(np.float32(1.0) / s_x if s_x > 0 else np.float32(0.0))
        da = torch.zeros(N, nr * ROWS) if need_a else None
        dv = torch.zeros(nr, nc, ROWS, PAIRS)
        for r in range(nr):
            dx = np.zeros((N, ROWS), np.float32) if need_a else None
            dcell = torch.zeros(nc, ROWS, COLS)
            be.vmm_tiles_backward(_np(cells[r]), _np(x[r]), _np(dy), dx=dx, dw=_np(dcell))
            if need_a:
                da[:, r * ROWS:(r + 1) * ROWS] = torch.from_numpy(dx) * inv
            minus = cells[r][..., 1::2] > 0
            dv[r] = torch.where(minus, -dcell[..., 1::2], dcell[..., 0::2])
        dw = None
        if need_w:  # (nr, nc, i, k) -> (nc, k, nr, i) -> (OCp, ICp)
            dw = (dv.permute(1, 3, 0, 2).reshape(nc * PAIRS, nr * ROWS)[:OC, :IC]
                  / torch.tensor(g))
        return (da[:, :IC] if need_a else None), dw, db, None, None, None

    @staticmethod
    def _backward_linear(ctx, dout):
        a, w, gains = ctx.saved_tensors
        db = dout.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        G = _gain_select(gains, w)
        da = dout @ (G * w) if ctx.needs_input_grad[0] else None
        dw = G * (dout.t() @ a) if ctx.needs_input_grad[1] else None
        return da, dw, db, None, None, None


class PulseClip(torch.autograd.Function):
    """min(max(a, 0), s); gradient where 0 <= a <= s (nn_clip_backward)."""

    @staticmethod
    def forward(ctx, a, s):
        ctx.save_for_backward(a)
        ctx.s = float(s)
        return torch.clamp(a, 0.0, ctx.s)

    @staticmethod
    def backward(ctx, dout):
        (a,) = ctx.saved_tensors
        return dout * ((a >= 0) & (a <= ctx.s)).to(dout.dtype), None


def tiled_linear(a, w, b, s_x, backend, grad="exact"):
    """The analog product of a (N, IC), clipped to [0, s_x], and W (OC, IC);
    grad: "exact" (the backend's Jacobian) or "linear" (per-tile gains)."""
    _check_grad(grad)
    return TiledMatmul.apply(PulseClip.apply(a, s_x), w, b, float(s_x), backend, grad)


class _AnalogBase(nn.Module):
    """Backend and input scale s_x shared by the analog layers."""

    def _analog_init(self, backend, input_scale, grad):
        _check_grad(grad)
        self.grad = grad
        self.backend = open_backend(backend)
        self.learn_input_scale = input_scale is None
        self.register_buffer("input_scale", torch.tensor(
            1.0 if input_scale is None else float(input_scale), dtype=torch.float32))
        self.register_buffer("input_scale_set", torch.tensor(input_scale is not None))

    def set_backend(self, backend):
        """Another backend (spec or Backend) for the same weights."""
        self.backend = open_backend(backend)

    def _update_scale(self, a):
        """s_x: set by the first batch, then EMA of the batch max in training."""
        if not self.learn_input_scale:
            return
        mx = np.float32(a.detach().max()) if a.numel() else np.float32(0)
        if not mx > 0:
            return
        if not bool(self.input_scale_set):
            self.input_scale.fill_(float(mx))
            self.input_scale_set.fill_(True)
        elif self.training:
            s = np.float32(self.input_scale.item())
            s = SX_MOMENTUM * s + (np.float32(1) - SX_MOMENTUM) * mx
            self.input_scale.fill_(float(s))

    def _check_params(self):
        _check_tensor(self.weight, "weight")
        if self.bias is not None:
            _check_tensor(self.bias, "bias")


class AnalogLinear(_AnalogBase):
    """nn.Linear whose product runs on 16x16 analog tiles through a backend
    ('ideal', 'hwa:MODEL.json', 'spice:LAYOUT' or a Backend).
    input_scale: fixed pulse scale s_x (e.g. 1.0 for pixels in [0,1]);
    None: the running maximum of the input. grad: "exact" (the backend's
    Jacobian) or "linear" (per-tile gains; any backend, SPICE included)."""

    def __init__(self, in_features, out_features, bias=True, backend="ideal",
                 input_scale=None, grad="exact"):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self._analog_init(backend, input_scale, grad)
        nn.Linear.reset_parameters(self)

    @classmethod
    def from_digital(cls, m, backend="ideal", input_scale=None, grad="exact"):
        a = cls(m.in_features, m.out_features, m.bias is not None, backend, input_scale,
                grad)
        with torch.no_grad():
            a.weight.copy_(m.weight)
            if m.bias is not None:
                a.bias.copy_(m.bias)
        return a

    def forward(self, x):
        _check_tensor(x, "input")
        self._check_params()
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"input: expected shape (..., {self.in_features}), "
                             f"got {tuple(x.shape)}")
        self._update_scale(x)
        a = x.reshape(-1, self.in_features)
        out = tiled_linear(a, self.weight, self.bias, self.input_scale.item(), self.backend,
                           self.grad)
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, backend={self.backend.spec!r}"
                + (f", grad={self.grad!r}" if self.grad != "exact" else ""))


def _pair(v, name):
    if isinstance(v, str):
        raise ValueError(f"{name}: expected an int or a pair, got {v!r}")
    return (v, v) if isinstance(v, int) else tuple(v)


class AnalogConv2d(_AnalogBase):
    """nn.Conv2d (weight (out, in, kh, kw), NCHW, zero padding, groups 1)
    as im2col + the tiled product of AnalogLinear."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, bias=True, backend="ideal", input_scale=None, grad="exact"):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding = _pair(stride, "stride"), _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self._analog_init(backend, input_scale, grad)
        nn.Conv2d.reset_parameters(self)

    # nn.Conv2d.reset_parameters reads these
    transposed, groups = False, 1

    @classmethod
    def from_digital(cls, m, backend="ideal", input_scale=None, grad="exact"):
        if m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise ValueError(f"{m}: only groups=1, padding_mode='zeros' and numeric "
                             "padding map to analog tiles")
        a = cls(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                m.dilation, m.bias is not None, backend, input_scale, grad)
        with torch.no_grad():
            a.weight.copy_(m.weight)
            if m.bias is not None:
                a.bias.copy_(m.bias)
        return a

    def forward(self, x):
        _check_tensor(x, "input", 4)
        self._check_params()
        B, C, H, W = x.shape
        if C != self.in_channels:
            raise ValueError(f"input: expected {self.in_channels} channels (B, C, H, W), "
                             f"got shape {tuple(x.shape)}")
        self._update_scale(x)
        xc = PulseClip.apply(x, self.input_scale.item())
        kh, kw = self.kernel_size
        cols = F.unfold(xc, self.kernel_size, self.dilation, self.padding, self.stride)
        L = cols.shape[-1]
        OH = (H + 2 * self.padding[0] - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        OW = L // OH
        # the C trainer's im2col columns: (kh, kw, c)
        cols = cols.reshape(B, C, kh * kw, L).permute(0, 3, 2, 1).reshape(B * L, kh * kw * C)
        w = self.weight.permute(0, 2, 3, 1).reshape(self.out_channels, kh * kw * C)
        out = TiledMatmul.apply(cols, w, self.bias, float(self.input_scale.item()),
                                self.backend, self.grad)
        return out.reshape(B, OH, OW, self.out_channels).permute(0, 3, 1, 2)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}, "
                f"backend={self.backend.spec!r}"
                + (f", grad={self.grad!r}" if self.grad != "exact" else ""))


def convert_to_analog(module, backend="ideal", input_scale=None, grad="exact"):
    """module with every nn.Linear / nn.Conv2d replaced (recursively, in
    place; the module is returned) by AnalogLinear / AnalogConv2d on the
    backend (one Backend shared by all), weights and biases copied."""
    _check_grad(grad)
    be = open_backend(backend)
    if isinstance(module, nn.Linear):
        return AnalogLinear.from_digital(module, be, input_scale, grad)
    if isinstance(module, nn.Conv2d):
        return AnalogConv2d.from_digital(module, be, input_scale, grad)
    for name, child in module.named_children():
        new = convert_to_analog(child, be, input_scale, grad)
        if new is not child:
            setattr(module, name, new)
    return module


def analog_layers(module):
    """The analog layers of module, in order."""
    return [m for m in module.modules() if isinstance(m, _AnalogBase)]


__all__ = ["AnalogLinear", "AnalogConv2d", "convert_to_analog", "analog_layers",
           "tiled_linear", "TiledMatmul", "PulseClip", "tile_cells", "tile_pulses", "tile_gains",
           "tile_scale", "Backend"]
