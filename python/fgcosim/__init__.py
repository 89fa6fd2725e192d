"""fgcosim from Python: ctypes over libfgcosim, no compiled extension.

    import numpy as np, fgcosim
    be = fgcosim.Backend("hwa:model.json")     # or "ideal", "spice:coupled"
    w = np.zeros((16, 16), np.float32); w[3, 5] = 0.5   # normalised cells
    x = np.zeros((1, 16), np.float32); x[0, 3] = 1.0    # pulse fractions
    y = be.vmm(w, x)                                    # (1, 16)

The PyTorch layers (AnalogLinear, AnalogConv2d, convert_to_analog) are in
fgcosim.torch. Arrays handed to the library are float32, C-contiguous, on
the CPU: anything else raises TypeError/ValueError naming the argument.
"""
import ctypes
import json
import threading

import numpy as np

from . import _lib

ROWS = COLS = 16

__all__ = ["Backend", "FgcosimError", "version", "set_threads", "open_backend",
           "backend_kinds", "read_model", "read_dataset", "ROWS", "COLS"]


class FgcosimError(RuntimeError):
    """A status other than FG_OK from libfgcosim; .status is its name."""

    def __init__(self, status, message):
        self.status = status
        super().__init__(message)


def _check(st):
    if st != 0:
        L = _lib.lib()
        raise FgcosimError(L.fg_status_to_string(st).decode(),
                           L.fg_errmsg().decode(errors="replace"))


def version():
    """The library's version (the project version of meson.build)."""
    return _lib.lib().fgc_version().decode()


def set_threads(n):
    """Threads of fgcosim's kernels and torch together (n <= 0: all cores),
    by the C trainer's rule (nn_set_threads): one pool of workers, OpenMP's
    (fgcosim's kernels and loops, and torch's intra-op threads: the same
    libgomp) get n; OpenBLAS runs each call on its caller's thread (a
    second pool of spinning threads took the cores from the first:
    measured on the 2-core machine, F.unfold of a LeNet-5 batch 750 ms
    with both pools at 2 threads against 6 ms with torch at 1)."""
    L = _lib.lib()
    L.nn_set_threads(int(n))
    try:
        import torch
        torch.set_num_threads(L.fg_threads())
    except ImportError:
        pass


def _array(a, name, shape):
    """a as it must reach C: a float32 C-contiguous numpy array of shape
    (-1 in shape: any size); raises naming the argument otherwise."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(a).__name__}")
    if a.dtype != np.float32:
        raise TypeError(f"{name}: expected dtype float32, got {a.dtype}")
    if a.ndim != len(shape) or any(s not in (-1, d) for s, d in zip(shape, a.shape)):
        want = "(" + ", ".join("N" if s == -1 else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {tuple(a.shape)}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array")
    return a


class Backend:
    """An array backend opened from a spec: "ideal", "hwa:MODEL.json",
    "spice:LAYOUT", "spice:netlist=FILE" (see fgc_backend_open)."""

    def __init__(self, spec):
        if not isinstance(spec, str):
            raise TypeError(f"spec: expected a str, got {type(spec).__name__}")
        L = _lib.lib()
        h = _lib._P()
        _check(L.fgc_backend_open(spec.encode(), h))
        self._h, self.spec = h, spec
        self.name = L.fg_backend_name(h).decode()
        self.can_backward = bool(L.fg_backend_can_backward(h))
        self._lock = threading.Lock()  # one call at a time per backend

    def close(self):
        if getattr(self, "_h", None):
            _lib.lib().fg_backend_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may be gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Backend({self.spec!r})"

    # A backend holds C state: copies of a module share it, pickles reopen it.
    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (open_backend, (self.spec,))

    @property
    def ops_count(self):
        """Array operations (rows of x) run so far."""
        return int(_lib.lib().fg_backend_ops_count(self._live()))

    def _live(self):
        if not getattr(self, "_h", None):
            raise ValueError(f"backend {self.spec!r} is closed")
        return self._h

    def vmm(self, w, x, out=None):
        """y (B,16) = f(w (16,16), x (B,16)): w normalised cell currents
        (row = word line), x pulse fractions in [0,1]."""
        y = self.vmm_tiles(_array(w, "w", (ROWS, COLS))[None], x,
                           None if out is None else out[None])
        return y[0]

    def vmm_backward(self, w, x, dy):
        """(dx (B,16), dw (16,16)): the backend's Jacobian applied to dy."""
        dx, dw = self.vmm_tiles_backward(_array(w, "w", (ROWS, COLS))[None], x, dy[None])
        return dx, dw[0]

    def vmm_tiles(self, w, x, out=None):
        """y (nt,B,16) for nt tiles w (nt,16,16) on the same pulses x (B,16)."""
        w = _array(w, "w", (-1, ROWS, COLS))
        x = _array(x, "x", (-1, ROWS))
        nt, B = w.shape[0], x.shape[0]
        y = np.empty((nt, B, COLS), np.float32) if out is None else \
            _array(out, "out", (nt, B, COLS))
        if nt and B:
            with self._lock:
                _check(_lib.lib().fg_backend_vmm_tiles(
                    self._live(), _lib.fptr(w), nt, _lib.fptr(x), _lib.fptr(y), B))
        return y

    def vmm_tiles_backward(self, w, x, dy, dx=None, dw=None):
        """dx (B,16) (summed over the tiles) and dw (nt,16,16) for dy
        (nt,B,16); given dx/dw arrays are accumulated into (+=)."""
        if not self.can_backward:
            raise FgcosimError("FG_ERR_UNSUPPORTED",
                               f"backend {self.spec!r} has no gradient")
        w = _array(w, "w", (-1, ROWS, COLS))
        x = _array(x, "x", (-1, ROWS))
        nt, B = w.shape[0], x.shape[0]
        dy = _array(dy, "dy", (nt, B, COLS))
        dx = np.zeros((B, ROWS), np.float32) if dx is None else _array(dx, "dx", (B, ROWS))
        dw = np.zeros((nt, ROWS, COLS), np.float32) if dw is None else \
            _array(dw, "dw", (nt, ROWS, COLS))
        if nt and B:
            with self._lock:
                _check(_lib.lib().fg_backend_vmm_tiles_backward(
                    self._live(), _lib.fptr(w), nt, _lib.fptr(x), _lib.fptr(dy),
                    _lib.fptr(dx), _lib.fptr(dw), B))
        return dx, dw


_open = {}
_open_lock = threading.Lock()


def open_backend(spec):
    """The Backend of spec, opened once per process and shared (layers
    converted together use one model, one ngspice pool)."""
    if isinstance(spec, Backend):
        return spec
    with _open_lock:
        be = _open.get(spec)
        if be is None:
            be = _open[spec] = Backend(spec)
        return be


def backend_kinds():
    """[(name, usage, help)] of the backends in the C registry."""
    L = _lib.lib()
    n = ctypes.c_int()
    k = L.fgc_backend_kinds(ctypes.byref(n))
    return [(k[i].name.decode(), k[i].usage.decode(), k[i].help.decode())
            for i in range(n.value)]


def _struct_dict(st):
    return {name: getattr(st, name) for name, _ in st._fields_}


def backend_array(spec):
    """The array the backend of spec runs on, without opening it
    (fgc_backend_array): {"on_array": bool, "op": {v_pre, v_read, t_max,
    c_bl, i_unit} in SI units, "corner": {temp_c, supply, rails, drift_s,
    ..., t_max_trim, out_gain}, "must_match": bool}. hwa: the model file's
    array and corner (a recalibrated model's trims, a temperature model's
    at temp=C); spice: the layout's at the nominal corner; ideal: none."""
    L = _lib.lib()
    a = _lib.Array()
    _check(L.fgc_backend_array(str(spec).encode(), None, ctypes.byref(a)))
    return {"on_array": bool(a.on_array), "op": _struct_dict(a.op),
            "corner": _struct_dict(a.corner), "must_match": bool(a.must_match)}


def read_model(path):
    """A model file of `fgcosim fit` as a dict (format checked)."""
    with open(path) as f:
        m = json.load(f)
    if m.get("format") != "fgcosim-hwa-model":
        raise ValueError(f"{path}: format is {m.get('format')!r}, "
                         "not 'fgcosim-hwa-model'")
    return m


def read_dataset(path):
    """A calibration data set of `fgcosim simulate` (HDF5) as a dict of
    numpy arrays (inputs, v_read, y, ok, dvt, w_target, ...) plus its
    attributes under "attrs". A data set of several programmed arrays
    (`simulate --ckpt`, attrs["version"] == 2) also has array (P,), the
    array each pattern ran on, and w_targets, dvts (A, 16, 16)."""
    import h5py
    with h5py.File(path, "r") as f:
        d = {k: f[k][()] for k in f.keys() if isinstance(f[k], h5py.Dataset)}
        d["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v)
                      for k, v in f.attrs.items()}
    return d
