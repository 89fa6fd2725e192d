# Residual analysis of a model on a data set: SPICE minus model, regressed on
# candidate features per column (pooled least squares).
# usage: /usr/bin/python3 ana_resid.py DATA.h5 MODEL.json
import sys, numpy as np
import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import fgcosim
d = fgcosim.read_dataset(sys.argv[1]); mp = sys.argv[2]
x = d["inputs"].astype(np.float32); y = d["y"].astype(np.float64); arr = d["array"]; W = d["w_targets"]
be = fgcosim.open_backend("hwa:" + mp)
yh = np.zeros_like(y); yn = np.zeros_like(y); tot = np.zeros(len(x)); nrow = (x > 0).sum(1)
for a in np.unique(arr):
    idx = np.where(arr == a)[0]; w = np.ascontiguousarray(W[a].reshape(16, 16), dtype=np.float32)
    yh[idx] = be.vmm(w, np.ascontiguousarray(x[idx])); yn[idx] = x[idx] @ w
r = y - yh
def feats(name, F):
    # F: (P,16,k) features per column; pooled least squares
    A = F.reshape(-1, F.shape[2]); b = r.reshape(-1)
    c, *_ = np.linalg.lstsq(A, b, rcond=None)
    res = b - A @ c
    print(f"{name:40s} explains {100*(1-(res**2).sum()/(b**2).sum()):5.1f} % of residual power")
one = np.ones_like(yn)
sh = lambda v, k: np.roll(v, k, axis=1) * (np.arange(16) - k >= 0 if k > 0 else np.arange(16) - k < 16)
feats("yn", np.stack([yn, one], 2))
feats("yn, yn^2", np.stack([yn, yn**2, one], 2))
feats("yn, neighbours", np.stack([yn, sh(yn,1), sh(yn,-1), one], 2))
feats("neigh yn^2, yn*neigh", np.stack([yn, yn**2, sh(yn,1), sh(yn,-1), sh(yn,1)**2, sh(yn,-1)**2, yn*sh(yn,1), yn*sh(yn,-1), one], 2))
T = yn.sum(1, keepdims=True) * one
feats("total current", np.stack([yn, T, T*yn, one], 2))
feats("nrows", np.stack([yn, nrow[:, None]*one, nrow[:, None]*yn, one], 2))
feats("x-sum", np.stack([yn, x.sum(1)[:, None]*one, x.sum(1)[:, None]*yn, one], 2))
feats("neighbours 2", np.stack([yn, sh(yn,2), sh(yn,-2), sh(yn,1), sh(yn,-1), one], 2))
print("rms residual", np.sqrt((r**2).mean()))
def coef(name, F):
    A = F.reshape(-1, F.shape[2]); b = r.reshape(-1)
    c, *_ = np.linalg.lstsq(A, b, rcond=None); res = b - A @ c
    print(f"{name:40s} explains {100*(1-(res**2).sum()/(b**2).sum()):5.1f} %  coef", np.round(c, 4))
coef("n2 only", np.stack([sh(yn,2), sh(yn,-2), one], 2))
coef("n2,n3", np.stack([sh(yn,2), sh(yn,-2), sh(yn,3), sh(yn,-3), one], 2))
coef("n2,n3,n4", np.stack([sh(yn,2), sh(yn,-2), sh(yn,3), sh(yn,-3), sh(yn,4), sh(yn,-4), one], 2))
coef("n2 model-y", np.stack([sh(yh,2), sh(yh,-2), one], 2))
