"""Loading libfgcosim and declaring the C functions the package calls.

Where the library comes from, first match wins:
  1. the FGCOSIM_LIB environment variable (a path to libfgcosim.so);
  2. the build tree next to this package (../../build/api/libfgcosim.so);
  3. the system (ctypes.util.find_library, e.g. after `meson install`).
"""
import ctypes
import ctypes.util
import os

_P = ctypes.c_void_p
_F = ctypes.POINTER(ctypes.c_float)
_I = ctypes.c_int
_S = ctypes.c_int  # fg_status


class NNLinearDims(ctypes.Structure):
    """train.h's nn_linear_dims: rows, inputs, outputs."""
    _fields_ = [("N", ctypes.c_int), ("IC", ctypes.c_int), ("OC", ctypes.c_int)]


class BackendKind(ctypes.Structure):
    """fgcosim.h's fgc_backend_kind."""
    _fields_ = [("name", ctypes.c_char_p), ("usage", ctypes.c_char_p),
                ("help", ctypes.c_char_p), ("open", ctypes.c_void_p),
                ("corner", ctypes.c_int), ("ir", ctypes.c_int),
                ("array", ctypes.c_void_p), ("cli", ctypes.c_void_p)]


class OpPoint(ctypes.Structure):
    """fgcore.h's fg_op_point (SI units)."""
    _fields_ = [(n, ctypes.c_double) for n in ("v_pre", "v_read", "t_max", "c_bl",
                                                "i_unit")]


class Corner(ctypes.Structure):
    """fgcore.h's fg_corner."""
    _fields_ = [("temp_c", ctypes.c_double), ("supply", ctypes.c_double),
                ("rails", ctypes.c_uint), ("drift_s", ctypes.c_double),
                ("drift_rate", ctypes.c_double), ("drift_t0_s", ctypes.c_double),
                ("drift_sigma", ctypes.c_double), ("drift_neutral_v", ctypes.c_double),
                ("drift_seed", ctypes.c_uint64), ("t_max_trim", ctypes.c_double),
                ("out_gain", ctypes.c_double)]


class Array(ctypes.Structure):
    """fgcosim.h's fgc_array."""
    _fields_ = [("on_array", ctypes.c_int), ("op", OpPoint), ("corner", Corner),
                ("must_match", ctypes.c_int)]


# name: (restype, argtypes)
_PROTOS = {
    "fgc_version": (ctypes.c_char_p, []),
    "fgc_backend_kinds": (ctypes.POINTER(BackendKind), [ctypes.POINTER(ctypes.c_int)]),
    "fgc_backend_open": (_S, [ctypes.c_char_p, ctypes.POINTER(_P)]),
    "fgc_backend_array": (_S, [ctypes.c_char_p, _P, ctypes.POINTER(Array)]),
    "fg_backend_free": (None, [_P]),
    "fg_backend_name": (ctypes.c_char_p, [_P]),
    "fg_backend_can_backward": (_I, [_P]),
    "fg_backend_ops_count": (ctypes.c_uint64, [_P]),
    "fg_backend_vmm": (_S, [_P, _F, _F, _F, _I]),
    "fg_backend_vmm_backward": (_S, [_P, _F, _F, _F, _F, _F, _I]),
    "fg_backend_vmm_tiles": (_S, [_P, _F, _I, _F, _F, _I]),
    "fg_backend_vmm_tiles_backward": (_S, [_P, _F, _I, _F, _F, _F, _F, _I]),
    "fg_errmsg": (ctypes.c_char_p, []),
    "fg_status_to_string": (ctypes.c_char_p, [_S]),
    "fg_threads": (_I, []),
    "nn_set_threads": (None, [_I]),
    # the C trainer's tiled product (tests compare the PyTorch layer to it)
    "nn_tiled_forward": (_S, [_P, _P, _F, _F, _F, _F, ctypes.c_float, NNLinearDims]),
    "nn_tiled_backward": (_S, [_P, _P, _F, _F, _F, _F, _F, _F, ctypes.c_float,
                              NNLinearDims]),
    "nn_tiled_forward_gains": (_S, [_P, _P, _F, _F, _F, _F, ctypes.c_float, NNLinearDims,
                                    _F]),
    "nn_tiled_backward_linear": (_S, [_P, _F, _F, _F, _F, _F, _F, _F, NNLinearDims]),
}

_lib = None


def _candidates():
    env = os.environ.get("FGCOSIM_LIB")
    if env:
        return [env]  # asked for: no fallback that would hide a wrong path
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.join(here, os.pardir, os.pardir, "build", "api", "libfgcosim.so")
    found = ctypes.util.find_library("fgcosim")
    return [p for p in (os.path.normpath(tree), found, "libfgcosim.so.0") if p]


def lib():
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: no such file")
            continue
        try:
            handle = ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
            continue
        for name, (res, args) in _PROTOS.items():
            fn = getattr(handle, name)
            fn.restype, fn.argtypes = res, args
        _lib = handle
        return _lib
    raise OSError("libfgcosim not found (set FGCOSIM_LIB to its path, build it with "
                  "meson in ./build, or meson install it): " + "; ".join(errors))


def fptr(arr):
    """float* of a C-contiguous float32 numpy array or CPU torch tensor."""
    if arr is None:
        return None
    addr = arr.data_ptr() if hasattr(arr, "data_ptr") else arr.ctypes.data
    return ctypes.cast(addr, _F)
