"""Tests of the Python package (meson test -C build python; or by hand:
FGCOSIM_LIB=build/api/libfgcosim.so PYTHONPATH=python \
  /usr/bin/python3 -m unittest discover -s python/tests).

The C side is the reference: the PyTorch layers must give the C trainer's
tiled product (train/tile.c, called through ctypes) on the same weights
and inputs, forward and backward."""
import ctypes
import os
import pickle
import unittest

import numpy as np
import torch
from torch import nn

import fgcosim
import fgcosim.torch as ft
from fgcosim import _lib

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, os.pardir, os.pardir, "tests", "fixtures",
                     "hwa_coupled_model.json")
HWA = "hwa:" + MODEL


class ConvDims(ctypes.Structure):
    """train.h's nn_conv_dims."""
    _fields_ = [(n, ctypes.c_int) for n in
                ("B", "H", "W", "C", "OC", "K", "stride", "pad", "OH", "OW")]


def clib():
    L = _lib.lib()
    L.nn_conv_dims_make.restype = ConvDims
    L.nn_conv_dims_make.argtypes = [ctypes.c_int] * 8
    L.nn_im2col.restype = None
    L.nn_im2col.argtypes = [_lib._F, _lib._F, ConvDims]
    return L


def c_tiled_forward(be, a, w, b, s_x):
    """out (N,OC) of the C trainer's nn_tiled_forward on a (N,IC), w (OC,IC)."""
    a, w = np.ascontiguousarray(a, np.float32), np.ascontiguousarray(w, np.float32)
    N, IC = a.shape
    OC = w.shape[0]
    out = np.empty((N, OC), np.float32)
    b = None if b is None else np.ascontiguousarray(b, np.float32)
    st = clib().nn_tiled_forward(be._h, None, _lib.fptr(out), _lib.fptr(a), _lib.fptr(w),
                                 _lib.fptr(b), np.float32(s_x), _lib.NNLinearDims(N, IC, OC))
    assert st == 0, clib().fg_errmsg()
    return out


def c_tiled_backward(be, dout, a, w, s_x):
    """(da, dw, db) of the C trainer's nn_tiled_backward."""
    a, w = np.ascontiguousarray(a, np.float32), np.ascontiguousarray(w, np.float32)
    dout = np.ascontiguousarray(dout, np.float32)
    N, IC = a.shape
    OC = w.shape[0]
    da, dw, db = (np.zeros((N, IC), np.float32), np.zeros((OC, IC), np.float32),
                  np.zeros(OC, np.float32))
    st = clib().nn_tiled_backward(be._h, None, _lib.fptr(da), _lib.fptr(dw), _lib.fptr(db),
                                  _lib.fptr(dout), _lib.fptr(a), _lib.fptr(w),
                                  np.float32(s_x), _lib.NNLinearDims(N, IC, OC))
    assert st == 0, clib().fg_errmsg()
    return da, dw, db


def c_tiled_linear(be, dout, a, w, b, s_x):
    """(out, gains, da, dw, db) of the C trainer's per-tile linear gradient
    (nn_tiled_forward_gains, nn_tiled_backward_linear)."""
    a, w = np.ascontiguousarray(a, np.float32), np.ascontiguousarray(w, np.float32)
    dout = np.ascontiguousarray(dout, np.float32)
    b = np.ascontiguousarray(b, np.float32)
    N, IC = a.shape
    OC = w.shape[0]
    d = _lib.NNLinearDims(N, IC, OC)
    out = np.empty((N, OC), np.float32)
    gains = np.empty((-(-IC // 16), -(-OC // 8), 16), np.float32)
    st = clib().nn_tiled_forward_gains(be._h, None, _lib.fptr(out), _lib.fptr(a),
                                       _lib.fptr(w), _lib.fptr(b), np.float32(s_x), d,
                                       _lib.fptr(gains))
    assert st == 0, clib().fg_errmsg()
    da, dw, db = (np.zeros((N, IC), np.float32), np.zeros((OC, IC), np.float32),
                  np.zeros(OC, np.float32))
    st = clib().nn_tiled_backward_linear(None, _lib.fptr(da), _lib.fptr(dw), _lib.fptr(db),
                                         _lib.fptr(dout), _lib.fptr(a), _lib.fptr(w),
                                         _lib.fptr(gains), d)
    assert st == 0, clib().fg_errmsg()
    return out, gains, da, dw, db


def ref_tiled_ideal(a, W, b, s_x):
    """The tile mapping written out in float64 loops, tile by tile, with
    the ideal array y = x . cells (independent of the layer's code)."""
    a = np.clip(np.asarray(a, np.float64), 0, s_x)
    W = np.asarray(W, np.float64)
    N, IC = a.shape
    OC = W.shape[0]
    g = np.abs(W).max()
    out = np.tile(np.asarray(b, np.float64), (N, 1))
    for r in range(-(-IC // 16)):
        x = np.zeros((N, 16))
        for i in range(16):
            if 16 * r + i < IC:
                x[:, i] = a[:, 16 * r + i] / s_x
        for c in range(-(-OC // 8)):
            cells = np.zeros((16, 16))
            for i in range(16):
                for k in range(8):
                    if 16 * r + i < IC and 8 * c + k < OC:
                        v = W[8 * c + k, 16 * r + i] / g
                        cells[i, 2 * k], cells[i, 2 * k + 1] = max(v, 0), max(-v, 0)
            y = x @ cells
            for k in range(8):
                if 8 * c + k < OC:
                    out[:, 8 * c + k] += s_x * g * (y[:, 2 * k] - y[:, 2 * k + 1])
    return out


def layer(cls_args, backend, seed=0, input_scale=0.8):
    torch.manual_seed(seed)
    return ft.AnalogLinear(*cls_args, backend=backend, input_scale=input_scale)


class TestBackend(unittest.TestCase):
    def test_version(self):
        want = os.environ.get("FGCOSIM_EXPECT_VERSION")
        self.assertRegex(fgcosim.version(), r"^\d+\.\d+\.\d+")
        if want:
            self.assertEqual(fgcosim.version(), want)

    def test_kinds(self):
        # the shipped kinds, in the table's order; a backend a user adds
        # (README, "Adding a backend") comes after them
        kinds = fgcosim.backend_kinds()
        names = [k[0] for k in kinds]
        self.assertEqual(names[:3], ["ideal", "hwa", "spice"])
        self.assertEqual(len(names), len(set(names)))
        self.assertTrue(all(k[1].startswith(k[0]) and k[2] for k in kinds))

    def test_vmm_ideal(self):
        be = fgcosim.Backend("ideal")
        w = np.zeros((16, 16), np.float32)
        w[3, 5], w[7, 5], w[3, 0] = 0.5, 0.25, 1.0
        x = np.zeros((2, 16), np.float32)
        x[0, 3], x[1, 7], x[1, 3] = 1.0, 0.5, 0.25
        y = be.vmm(w, x)
        want = np.zeros((2, 16), np.float32)
        want[0, 5], want[0, 0] = 0.5, 1.0
        want[1, 5], want[1, 0] = 0.5 * 0.25 + 0.25 * 0.5, 0.25
        np.testing.assert_allclose(y, want, atol=1e-7)
        dx, dw = be.vmm_backward(w, x, np.ones((2, 16), np.float32))
        np.testing.assert_allclose(dx, np.tile(w.sum(1), (2, 1)), atol=1e-6)
        np.testing.assert_allclose(dw, np.tile(x.sum(0)[:, None], (1, 16)), atol=1e-6)
        self.assertEqual(be.ops_count, 2)  # forward rows only

    def test_bad_spec_and_arrays(self):
        with self.assertRaisesRegex(fgcosim.FgcosimError, "unknown name 'nosuch'"):
            fgcosim.Backend("nosuch:1")
        with self.assertRaisesRegex(fgcosim.FgcosimError, "/no/such.json"):
            fgcosim.Backend("hwa:/no/such.json")
        be = fgcosim.Backend("ideal")
        w, x = np.zeros((16, 16), np.float32), np.zeros((1, 16), np.float32)
        with self.assertRaisesRegex(TypeError, "w: expected dtype float32, got float64"):
            be.vmm(w.astype(np.float64), x)
        with self.assertRaisesRegex(ValueError, r"x: expected shape \(N, 16\), got \(1, 15\)"):
            be.vmm(w, x[:, :15].copy())
        with self.assertRaisesRegex(ValueError, "x: expected a C-contiguous"):
            be.vmm(w, np.zeros((16, 2), np.float32).T)
        be.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            be.vmm(w, x)

    def test_read_model(self):
        m = fgcosim.read_model(MODEL)
        self.assertEqual(m["version"], 3)

    def test_backend_array(self):
        """hwa: the model file's operating point and corner; ideal: none;
        a bad spec raises naming it."""
        m = fgcosim.read_model(MODEL)
        a = fgcosim.backend_array("hwa:" + MODEL)
        self.assertTrue(a["on_array"] and a["must_match"])
        for k, v in m["op_point"].items():
            self.assertAlmostEqual(a["op"][k], v["value"], delta=1e-12 * abs(v["value"]))
        for k, v in m["corner"].items():
            self.assertEqual(a["corner"][k], v, k)
        a = fgcosim.backend_array("ideal")
        self.assertFalse(a["on_array"])
        self.assertEqual(a["op"]["c_bl"], 0.0)
        self.assertEqual(a["corner"]["temp_c"], 27.0)
        with self.assertRaisesRegex(fgcosim.FgcosimError, "nosuch"):
            fgcosim.backend_array("nosuch")


class TestAnalogLinear(unittest.TestCase):
    def test_ideal_equals_tiled_float(self):
        """(a) ideal backend: the float64 tile-by-tile mapping, to 1e-5;
        IC=37, OC=19: 3 x 3 tiles with padding; inputs beyond s_x and
        below 0 are clipped."""
        lay = layer((37, 19), "ideal")
        torch.manual_seed(1)
        a = torch.rand(6, 37) * 1.2 - 0.1
        out = lay(a).detach().numpy()
        ref = ref_tiled_ideal(a.numpy(), lay.weight.detach().numpy(),
                              lay.bias.detach().numpy(), 0.8)
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)
        self.assertGreater(np.abs(ref).max(), 0.3)

    def test_hwa_equals_c_trainer(self):
        """(c) hwa: the layer's forward and its input, weight and bias
        gradients equal the C trainer's nn_tiled_forward/backward."""
        lay = layer((37, 19), HWA)
        torch.manual_seed(2)
        a = torch.rand(5, 37) * 1.2 - 0.1
        a[:, ::5] = 0.0  # ReLU zeros and full pulses: the clip's gradient
        a[:, 1::7] = 0.8  # passes at both ends of [0, s_x]
        a.requires_grad_(True)
        out = lay(a)
        W, b = lay.weight.detach().numpy(), lay.bias.detach().numpy()
        c_out = c_tiled_forward(lay.backend, np.clip(a.detach().numpy(), 0, 0.8), W, b, 0.8)
        scale = np.abs(c_out).max()
        np.testing.assert_allclose(out.detach().numpy(), c_out, rtol=0, atol=1e-6 * scale)
        ideal = ref_tiled_ideal(a.detach().numpy(), W, b, 0.8)
        self.assertGreater(np.abs(c_out - ideal).max(), 0.02 * scale)  # hwa is not ideal
        dout = torch.randn(5, 19)
        out.backward(dout)
        ac = np.clip(a.detach().numpy(), 0, 0.8)
        da, dw, db = c_tiled_backward(lay.backend, dout.numpy(), ac, W, 0.8)
        mask = (a.detach().numpy() >= 0) & (a.detach().numpy() <= 0.8)  # nn_clip_backward
        np.testing.assert_allclose(a.grad.numpy(), da * mask, rtol=0,
                                   atol=1e-6 * np.abs(da).max())
        np.testing.assert_allclose(lay.weight.grad.numpy(), dw, rtol=0,
                                   atol=1e-6 * np.abs(dw).max())
        np.testing.assert_allclose(lay.bias.grad.numpy(), db, rtol=1e-5, atol=1e-6)

    def test_linear_grad_equals_c_trainer(self):
        """grad="linear" on hwa: the layer's gradients equal the C trainer's
        nn_tiled_backward_linear with the gains of nn_tiled_forward_gains,
        on 5 rows and on 300 (past the gains' sample of 256); close to the
        exact gradient in direction, not equal to it."""
        for N in (5, 300):
            lay = layer((37, 19), HWA, seed=7)
            lay.grad = "linear"
            torch.manual_seed(8)
            a = torch.rand(N, 37) * 1.2 - 0.1
            a[:, ::5] = 0.0
            a.requires_grad_(True)
            out = lay(a)
            dout = torch.randn(N, 19)
            out.backward(dout)
            W, b = lay.weight.detach().numpy(), lay.bias.detach().numpy()
            ac = np.clip(a.detach().numpy(), 0, 0.8)
            c_out, gains, da, dw, db = c_tiled_linear(lay.backend, dout.numpy(), ac, W, b, 0.8)
            self.assertTrue(np.all((gains >= 0) & (gains <= 4)))
            self.assertGreater(np.abs(gains - 1).max(), 0.05)  # hwa is not ideal
            np.testing.assert_allclose(out.detach().numpy(), c_out, rtol=0,
                                       atol=1e-6 * np.abs(c_out).max())
            mask = (a.detach().numpy() >= 0) & (a.detach().numpy() <= 0.8)
            np.testing.assert_allclose(a.grad.numpy(), da * mask, rtol=0,
                                       atol=1e-5 * np.abs(da).max())
            np.testing.assert_allclose(lay.weight.grad.numpy(), dw, rtol=0,
                                       atol=1e-5 * np.abs(dw).max())
            np.testing.assert_allclose(lay.bias.grad.numpy(), db, rtol=1e-5, atol=1e-5)
            exact = layer((37, 19), HWA, seed=7)
            exact(a).backward(dout)
            ge, gl = exact.weight.grad.numpy().ravel(), lay.weight.grad.numpy().ravel()
            cos = ge @ gl / np.linalg.norm(ge) / np.linalg.norm(gl)
            self.assertGreater(cos, 0.8, f"N={N}")
            self.assertGreater(np.abs(ge - gl).max(), 1e-3 * np.abs(ge).max())
        with self.assertRaisesRegex(ValueError, "grad: expected one of exact, linear, "
                                                "got 'slope'"):
            ft.AnalogLinear(4, 2, grad="slope")

    def test_linear_grad_through_spice(self):
        """grad="linear" trains through a backend with no backward of its
        own: the SPICE array (exact refuses it)."""
        torch.manual_seed(9)
        lay = ft.AnalogLinear(20, 4, backend="spice:regular", input_scale=1.0)
        x = torch.rand(3, 20)
        with self.assertRaisesRegex(RuntimeError, "has no gradient"):
            lay(x).sum().backward()
        lay.grad = "linear"
        lay.weight.grad = None
        lay(x).sum().backward()
        self.assertTrue(torch.isfinite(lay.weight.grad).all())
        self.assertGreater(float(lay.weight.grad.abs().max()), 0.0)

    def test_hwa_gradients_finite_differences(self):
        """(b) hwa: d loss / d input and d loss / d weight against central
        differences of the layer's own forward (float64 loss). The weight
        of largest |W| is left out: g = max|W| is a constant for the
        gradient (stop-gradient) but not for a difference quotient."""
        lay = layer((20, 10), HWA, seed=3, input_scale=1.0)
        with torch.no_grad():  # |W| in [0.2, 1]: no cell near the sign split
            torch.manual_seed(4)
            sign = torch.where(torch.rand(10, 20) < 0.5, -1.0, 1.0)
            lay.weight.copy_(sign * (0.2 + 0.8 * torch.rand(10, 20)))
        torch.manual_seed(5)
        a = (0.05 + 0.9 * torch.rand(3, 20)).requires_grad_(True)
        R = torch.randn(3, 10)

        def loss():
            return float((lay(a).double() * R.double()).sum())

        (lay(a) * R).sum().backward()
        ga, gw = a.grad.clone().double(), lay.weight.grad.clone().double()
        flat_max = int(lay.weight.detach().abs().argmax())
        eps = 2e-3
        gen = torch.Generator().manual_seed(6)
        for name, p, g in (("input", a, ga), ("weight", lay.weight, gw)):
            for _ in range(4):
                d = torch.randn(p.shape, generator=gen)
                if name == "weight":
                    d.view(-1)[flat_max] = 0
                d /= d.norm()
                with torch.no_grad():
                    p += eps * d
                    lp = loss()
                    p -= 2 * eps * d
                    lm = loss()
                    p += eps * d
                fd, an = (lp - lm) / (2 * eps), float((g * d.double()).sum())
                self.assertLess(abs(fd - an), 2e-3 * max(1.0, abs(an)),
                                f"{name}: difference {fd}, gradient {an}")

    def test_bad_inputs(self):
        lay = layer((20, 10), "ideal")
        with self.assertRaisesRegex(TypeError, "input: expected dtype torch.float32, "
                                               "got torch.float64"):
            lay(torch.rand(2, 20, dtype=torch.float64))
        with self.assertRaisesRegex(ValueError, r"input: expected shape \(\.\.\., 20\), "
                                                r"got \(2, 21\)"):
            lay(torch.rand(2, 21))
        with self.assertRaisesRegex(ValueError, "input: expected a tensor on the CPU, "
                                                "got device meta"):
            lay(torch.empty(2, 20, device="meta"))
        with self.assertRaisesRegex(TypeError, "weight: expected dtype torch.float32"):
            lay.double()(torch.rand(2, 20))
        conv = ft.AnalogConv2d(3, 4, 3)
        with self.assertRaisesRegex(ValueError, "input: expected 4 dimensions"):
            conv(torch.rand(3, 8, 8))
        with self.assertRaisesRegex(ValueError, r"input: expected 3 channels"):
            conv(torch.rand(1, 2, 8, 8))
        spice_like = fgcosim.Backend("ideal")
        spice_like.can_backward = False
        lay.set_backend(spice_like)
        lay.float()
        x = torch.rand(2, 20, requires_grad=True)
        with self.assertRaisesRegex(RuntimeError, "has no gradient"):
            lay(x).sum().backward()

    def test_input_scale_ema(self):
        """s_x: the first batch's maximum, then 0.9 s + 0.1 max in training,
        unchanged in eval (the C trainer's update_sx)."""
        lay = ft.AnalogLinear(4, 2)
        lay(torch.tensor([[0.5, 2.0, 0.0, 1.0]]))
        self.assertAlmostEqual(lay.input_scale.item(), 2.0, places=6)
        lay(torch.tensor([[3.0, 0.0, 0.0, 0.0]]))
        self.assertAlmostEqual(lay.input_scale.item(), 0.9 * 2.0 + 0.1 * 3.0, places=6)
        lay.eval()
        lay(torch.tensor([[9.0, 0.0, 0.0, 0.0]]))
        self.assertAlmostEqual(lay.input_scale.item(), 2.1, places=6)
        fixed = ft.AnalogLinear(4, 2, input_scale=1.0)
        fixed(torch.tensor([[5.0, 0.0, 0.0, 0.0]]))
        self.assertEqual(fixed.input_scale.item(), 1.0)


class TestConvAndConvert(unittest.TestCase):
    def test_conv_equals_c_im2col(self):
        """AnalogConv2d on hwa: the C trainer's im2col (NHWC, columns
        (kh, kw, c)) and nn_tiled_forward on the same image and weights."""
        torch.manual_seed(7)
        conv = ft.AnalogConv2d(3, 5, 3, stride=1, padding=1, backend=HWA, input_scale=1.0)
        x = torch.rand(2, 3, 6, 6)
        out = conv(x).detach().numpy()  # (B, OC, OH, OW)
        L = clib()
        d = L.nn_conv_dims_make(2, 6, 6, 3, 5, 3, 1, 1)
        nhwc = np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy())
        cols = np.empty((2 * d.OH * d.OW, 27), np.float32)
        L.nn_im2col(_lib.fptr(cols), _lib.fptr(nhwc), d)
        w = conv.weight.detach().permute(0, 2, 3, 1).reshape(5, 27).numpy()
        c_out = c_tiled_forward(conv.backend, cols, w, conv.bias.detach().numpy(), 1.0)
        c_out = c_out.reshape(2, d.OH, d.OW, 5).transpose(0, 3, 1, 2)
        np.testing.assert_allclose(out, c_out, rtol=0, atol=1e-6 * np.abs(c_out).max())

    def test_set_threads(self):
        """The C trainer's rule: fgcosim and torch's OpenMP threads n."""
        saved = torch.get_num_threads()
        L = _lib.lib()
        try:
            fgcosim.set_threads(3)
            self.assertEqual((L.fg_threads(), torch.get_num_threads()), (3, 3))
            fgcosim.set_threads(1)
            self.assertEqual((L.fg_threads(), torch.get_num_threads()), (1, 1))
        finally:
            fgcosim.set_threads(1)
            torch.set_num_threads(saved)

    def test_convert_to_analog(self):
        """Every Linear/Conv2d replaced, weights copied; on ideal with the
        scales set by the batch, the digital network's output to 1e-4."""
        torch.manual_seed(8)
        net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Sequential(nn.Linear(64, 20), nn.ReLU()),
                            nn.Linear(20, 3))
        x = torch.rand(4, 1, 8, 8)
        ref = net(x).detach()
        anet = ft.convert_to_analog(net, backend="ideal")
        kinds = [type(m).__name__ for m in anet.modules()
                 if isinstance(m, (nn.Linear, nn.Conv2d, ft.AnalogLinear, ft.AnalogConv2d))]
        self.assertEqual(kinds, ["AnalogConv2d", "AnalogLinear", "AnalogLinear"])
        self.assertIs(anet[0].backend, anet[5].backend)
        np.testing.assert_allclose(anet(x).detach().numpy(), ref.numpy(), atol=1e-4)
        copy = pickle.loads(pickle.dumps(anet))  # reopens the backend by spec
        np.testing.assert_allclose(copy(x).detach().numpy(), ref.numpy(), atol=1e-4)

    def test_hwa_training_learns(self):
        """A converted MLP trains through hwa: 40 Adam steps on a fixed
        separable toy set cut the loss to under half."""
        torch.manual_seed(9)
        X = torch.rand(64, 24)
        labels = (X[:, :12].sum(1) > X[:, 12:].sum(1)).long()
        net = ft.convert_to_analog(nn.Sequential(nn.Linear(24, 16), nn.ReLU(),
                                                 nn.Linear(16, 2)), backend=HWA)
        opt = torch.optim.Adam(net.parameters(), lr=0.03)
        losses = []
        for _ in range(40):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(X), labels)
            loss.backward()
            opt.step()
            losses.append(float(loss))
        self.assertLess(losses[-1], 0.5 * losses[0], losses)


if __name__ == "__main__":
    unittest.main()
