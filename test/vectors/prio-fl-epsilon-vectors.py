# Independent epsilon of PrioAggregator's rounds against one aggregator (attacker review of issue 16):
# replace-one neighbours, the proven bound M on a quantized update's squared norm, sigma = z sqrt(M),
# so rho = (2 sqrt(M))^2 / (2 sigma^2) = 2 / z^2 per released round (discrete Gaussian, Canonne,
# Kamath, Steinke 2020), composed over the rounds; epsilon at delta by CKS20's conversion
#   eps = min over alpha > 1 of alpha rho + log((alpha - 1) / alpha) - (log delta + log alpha) / (alpha - 1)
# minimised over a continuous alpha (golden-section search in mpmath, not the accountant's grid), and
# the continuous Gaussian's exact epsilon at mu = sqrt(2 rho) (a lower bound no zCDP bound beats).
# Run: python3 test/vectors/prio-fl-epsilon-vectors.py > test/vectors/prio-fl-epsilon.json
import json
from mpmath import mp, mpf, ceil, sqrt, log, exp, ncdf, findroot

mp.dps = 40

def bound(bits, dimension):
    q = 2 ** (bits - 1) - 1
    return int(ceil((q * (1 + mpf(2) ** -30) + sqrt(dimension) / 2) ** 2))

def cks20(rho, delta):
    f = lambda a: a * rho + log((a - 1) / a) - (log(delta) + log(a)) / (a - 1)
    lo, hi = mpf('1.000001'), mpf(10000)
    g = (sqrt(5) - 1) / 2
    for _ in range(300):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if f(a) < f(b):
            hi = b
        else:
            lo = a
    return f((lo + hi) / 2)

def gaussian_exact(rho, delta):
    mu = sqrt(2 * rho)
    return findroot(lambda e: ncdf(-e / mu + mu / 2) - exp(e) * ncdf(-e / mu - mu / 2) - delta, mpf(1))

cases = []
for dimension, bits, z, rounds, delta in [(10, 12, '1.5', 5, '1e-5'), (1000, 16, '4', 50, '1e-6'), (3, 8, '0.8', 1, '1e-5')]:
    m = bound(bits, dimension)
    z = mpf(z)
    sigma = z * sqrt(m)
    rho = rounds * (2 * sqrt(m)) ** 2 / (2 * sigma ** 2)
    cases.append({
        'dimension': dimension, 'bits': bits, 'noiseMultiplier': float(z), 'rounds': rounds, 'delta': float(mpf(delta)),
        'bound': m, 'rho': float(rho), 'epsilonCks20': float(cks20(rho, mpf(delta))), 'epsilonGaussianExact': float(gaussian_exact(rho, mpf(delta))),
    })
print(json.dumps(cases, indent=2))
