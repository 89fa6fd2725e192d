# Single-ended, differential (y_2k - y_2k+1) and common-mode SER of models
# on a data set, per array and by the number of rows on.
# usage: /usr/bin/python3 ana_diffser.py DATA.h5 MODEL.json [MODEL.json ...]
import sys, numpy as np
import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import fgcosim
d = fgcosim.read_dataset(sys.argv[1])
models = sys.argv[2:]
x = d["inputs"].astype(np.float32); y = d["y"].astype(np.float64)
ok = d["ok"].astype(bool) if "ok" in d else np.ones(len(x), bool)
arr = d["array"] if "array" in d else np.zeros(len(x), int)
W = d["w_targets"] if "w_targets" in d else d["w_target"][None]
def ser(ref, est):
    return 10*np.log10((ref**2).sum()/((ref-est)**2).sum())
def report(name, yh):
    e = yh[ok]; r = y[ok]
    dr = r[:, 0::2]-r[:, 1::2]; de = e[:, 0::2]-e[:, 1::2]
    cr = r[:, 0::2]+r[:, 1::2]; ce = e[:, 0::2]+e[:, 1::2]
    print(f"{name:28s} single {ser(r,e):6.2f} dB  diff {ser(dr,de):6.2f} dB  common {ser(cr,ce):6.2f} dB"
          f"  rms err diff {np.sqrt(((dr-de)**2).mean()):.4f} rms diff {np.sqrt((dr**2).mean()):.4f}")
    return e
def predict(mp):
    """The model file mp on every pattern, each on its own programmed array."""
    be = fgcosim.open_backend("hwa:" + mp)
    yh = np.zeros_like(y)
    for a in np.unique(arr):
        idx = np.where(arr == a)[0]
        w = np.ascontiguousarray(W[a].reshape(16, 16), dtype=np.float32)
        yh[idx] = be.vmm(w, np.ascontiguousarray(x[idx]))
    return yh
naive = np.zeros_like(y)
for p in range(len(x)):
    naive[p] = x[p] @ W[arr[p]].reshape(16, 16)
report("naive", naive)
for mp in models:
    report(mp, predict(mp))
print("per-array diff SER and slope of model deviation vs SPICE deviation (diff outputs)")
dn = naive[:, 0::2]-naive[:, 1::2]; dr = y[:, 0::2]-y[:, 1::2]
for mp in models:
    yh = predict(mp)
    de = yh[:, 0::2]-yh[:, 1::2]
    line = []
    for a in np.unique(arr):
        idx = np.where((arr == a) & ok)[0]
        Dr = (dr-dn)[idx]; De = (de-dn)[idx]
        line.append(f"{a}:{ser(dr[idx],de[idx]):.1f}/{(De*Dr).sum()/(Dr*Dr).sum():.2f}")
    print(mp, " ".join(line))
    # by input sparsity
    nz = (x > 0).sum(1)
    for lo, hi in [(1,3),(4,6),(7,10),(11,16)]:
        idx = np.where((nz>=lo)&(nz<=hi)&ok)[0]
        if len(idx): print(f"  rows on {lo}-{hi}: n={len(idx)} diff SER {ser(dr[idx],de[idx]):.1f}")
