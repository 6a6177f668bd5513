# Independent PLD epsilon of privkit/tfjs's standard MNIST config (see tfjs-epsilon-rdp.py), for test/tfjs/attacks.test.ts.
# Usage: python3 tfjs-epsilon-pld.py q z T delta s  (prints JSON: a pessimistic and an optimistic epsilon).
# Independent PLD of T Poisson-subsampled Gaussian steps (add/remove, both directions), by a discretized
# privacy-loss distribution composed with FFT (Koskela et al. 2020; Meiser-Mohammadi 2018), losses rounded
# up (pessimistic) and down (optimistic) on a grid h, giving a sandwich of epsilon(delta).
# The sampler slack: epsilon at delta e^{-T s}, plus 2 T s (as privkit's PrivateModel.epsilon).
# The sampler's tail mass (1.3e-52 per step, 4e-49 of delta in all) is far below this resolution and not modeled.
import sys, json, numpy as np
from scipy.stats import norm
from scipy.special import log1p
q, z, T, delta, s = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
h = 5e-5
xs = np.linspace(-10 * z, 10 * z + 1, 2_000_001)
def pld(direction, up):
    # direction 'remove': x ~ mixture, loss L(x) = log(1 - q + q e^{(2x-1)/(2 z^2)}); 'add': x ~ N(0, z), loss -L(x)
    L = lambda x: np.log1p(q * np.expm1((2 * x - 1) / (2 * z * z)))
    lo, hi = xs[:-1], xs[1:]
    if direction == 'remove':
        mass = (1 - q) * (norm.cdf(hi, 0, z) - norm.cdf(lo, 0, z)) + q * (norm.cdf(hi, 1, z) - norm.cdf(lo, 1, z))
        tail = (1 - q) * (norm.sf(xs[-1], 0, z) + norm.cdf(xs[0], 0, z)) + q * (norm.sf(xs[-1], 1, z) + norm.cdf(xs[0], 1, z))
        loss = L(hi) if up else L(lo)
    else:
        mass = norm.cdf(hi, 0, z) - norm.cdf(lo, 0, z)
        tail = norm.sf(xs[-1], 0, z) + norm.cdf(xs[0], 0, z)
        loss = -L(lo) if up else -L(hi)
    k = np.ceil(loss / h).astype(np.int64) if up else np.floor(loss / h).astype(np.int64)
    kmin = k.min()
    p = np.bincount(k - kmin, weights=mass)
    return p, kmin, (tail if up else 0.0)
def compose(p, kmin, inf, T):
    n = len(p) * T
    size = 1 << int(np.ceil(np.log2(n)))
    f = np.fft.rfft(p, size)
    out = np.fft.irfft(f ** T, size)[:n]
    out[out < 0] = 0
    return out, kmin * T, 1 - (1 - inf) ** T
def eps_at(d, comp):
    p, kmin, inf = comp
    l = (np.arange(len(p)) + kmin) * h
    lo, hi = 0.0, 50.0
    for _ in range(60):
        e = (lo + hi) / 2
        m = l > e
        dd = inf + np.sum(p[m] * (1 - np.exp(e - l[m])))
        lo, hi = (e, hi) if dd > d else (lo, e)
    return hi
res = {}
for up in (True, False):
    e = max(eps_at(delta * np.exp(-T * s), compose(*pld(dirn, up), T)) for dirn in ('remove', 'add'))
    res['pessimistic' if up else 'optimistic'] = e + 2 * T * s
print(json.dumps(res))
