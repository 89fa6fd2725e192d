# Bit-line coupling in the pulses (dq/dt = g(P q) S) against at read time
# (dq/dt = g(q) S), both read y = P q, with a model file's lambda and beta,
# on 300 operations of a data set (RK2, 400 steps per T_max).
# usage: /usr/bin/python3 ana_inpulse.py DATA.h5 MODEL.json
import sys, json, numpy as np
import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import fgcosim
d = fgcosim.read_dataset(sys.argv[1]); m = json.load(open(sys.argv[2]))
x = d["inputs"].astype(np.float64); y = d["y"].astype(np.float64); arr = d["array"]; W = d["w_targets"]
p = m["params"]; lam = p["lambda"]["value"]; beta = np.array(p["beta"]["value"])
op = m["op_point"]; Vs = op["i_unit"]["value"]*op["t_max"]["value"]/op["c_bl"]["value"]; a = lam*Vs
P = np.eye(16); P[np.arange(15), np.arange(1, 16)] = beta; P[np.arange(1, 16), np.arange(15)] = beta
N = 400; dt = 1.0/N
def run(xv, w, inpulse):
    q = np.zeros(16)
    for k in range(N):
        t = (k+0.5)*dt
        S = (xv > t) @ w
        u = P @ q if inpulse else q
        # midpoint RK2
        f1 = (1-a*u)**2*S
        q2 = q + 0.5*dt*f1; u2 = P @ q2 if inpulse else q2
        q = q + dt*(1-a*u2)**2*S
    return P @ q
rng = np.random.default_rng(0); idx = rng.choice(len(x), 300, replace=False)
A = np.array([run(x[i], W[arr[i]].reshape(16, 16), False) for i in idx])
B = np.array([run(x[i], W[arr[i]].reshape(16, 16), True) for i in idx])
dA = A[:, 0::2]-A[:, 1::2]; dB = B[:, 0::2]-B[:, 1::2]; dY = y[idx][:, 0::2]-y[idx][:, 1::2]
print("rms diff signal", np.sqrt((dY**2).mean()), "rms (A-B) diff", np.sqrt(((dA-dB)**2).mean()),
      "rms (A-B) single", np.sqrt(((A-B)**2).mean()), "rms single", np.sqrt((y[idx]**2).mean()))
