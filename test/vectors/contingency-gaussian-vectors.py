# Vectors for test/protect/dp-release.test.ts: the analytic Gaussian sigma (Balle and Wang 2018,
# Theorem 8) of a count table with L2 sensitivity c (records per person) at (epsilon, delta),
# computed independently of privkit with mpmath at 60 digits by bisection on
#   delta(sigma) = Phi(c / (2 sigma) - epsilon sigma / c) - e^epsilon Phi(-c / (2 sigma) - epsilon sigma / c).
# Run: python3 test/vectors/contingency-gaussian-vectors.py > test/vectors/contingency-gaussian.json
import json
from mpmath import mp, mpf, erfc, exp, sqrt

mp.dps = 60


def phi(x):
    return erfc(-x / sqrt(2)) / 2


def delta_of(sigma, epsilon, c):
    return phi(c / (2 * sigma) - epsilon * sigma / c) - exp(epsilon) * phi(-c / (2 * sigma) - epsilon * sigma / c)


def sigma_of(epsilon, delta, c):
    lo, hi = mpf('1e-6') * c, mpf('1e6') * c
    for _ in range(300):
        mid = (lo + hi) / 2
        if delta_of(mid, epsilon, c) > delta:
            lo = mid
        else:
            hi = mid
    return hi


cases = []
for epsilon, delta, c in [(1, '1e-5', 1), (0.1, '1e-6', 1), (0.5, '1e-9', 1), (2, '1e-5', 3), (8, '1e-3', 1), (1, '1e-5', 64)]:
    sigma = sigma_of(mpf(epsilon), mpf(delta), mpf(c))
    cases.append({'epsilon': epsilon, 'delta': float(mpf(delta)), 'recordsPerUnit': c, 'sigma': mp.nstr(sigma, 20)})
print(json.dumps({'generator': 'test/vectors/contingency-gaussian-vectors.py (mpmath, 60 digits)', 'cases': cases}, indent=2))
