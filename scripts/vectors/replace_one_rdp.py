"""Reference values for src/accounting/replace-one.ts, computed independently at 40 digits.

For sampling without replacement at rate q with replace-one neighbours, one Gaussian step with noise
sigma (in units of the replace-one sensitivity) is (alpha, eps)-RDP with
    exp((alpha - 1) eps) = 1 + E_{x ~ N(0, sigma^2)}[ 1{x > 1/2} (L^alpha - 1)(1 - L^(1 - alpha)) ],
    L = 1 - q + q exp((2x - 1) / (2 sigma^2)),
the closed form of the hockey-stick integral in replace-one.ts for the Gaussian profile. Also records
the Renyi divergence of the Poisson pair (1-q) N(0) + q N(1) vs N(0) (MTZ19's A_alpha), which a concrete
neighbouring pair attains, as a lower bound.

Run: python3 scripts/vectors/replace_one_rdp.py > test/vectors/replace-one-rdp.json
"""
import json
import mpmath as mp

mp.mp.dps = 40


def values(q, s, alpha):
    q, s, alpha = mp.mpf(q), mp.mpf(s), mp.mpf(alpha)
    L = lambda x: 1 - q + q * mp.e ** ((2 * x - 1) / (2 * s * s))
    pdf = lambda x: mp.e ** (-x * x / (2 * s * s)) / mp.sqrt(2 * mp.pi * s * s)
    peak = max(mp.mpf(1), alpha)
    cuts = [mp.mpf(0.5), mp.mpf(0.5) + s, peak, peak + 10 * s, peak + 40 * s, mp.inf]
    sym = mp.quad(lambda x: pdf(x) * (L(x) ** alpha - 1) * (1 - L(x) ** (1 - alpha)), cuts)
    pair = mp.quad(lambda x: pdf(x) * L(x) ** alpha, [-mp.inf, -10 * s, 0] + cuts)
    return mp.log1p(sym) / (alpha - 1), mp.log(pair) / (alpha - 1)


cases = []
for q, s in [(0.1, 1.9), (0.1, 1.0), (0.01, 1.0), (0.001, 2.0), (0.3, 2.5), (0.05, 0.7), (0.5, 4.0)]:
    for alpha in [1.1, 1.5, 2, 3.5, 8, 16, 32]:
        sym, pair = values(q, s, alpha)
        cases.append({"sampleRate": q, "sigma": s, "order": alpha, "rdp": float(sym), "pairRdp": float(pair)})
print(json.dumps({"about": __doc__.strip().splitlines()[0], "generator": "scripts/vectors/replace_one_rdp.py", "cases": cases}, indent=1))
