#!/usr/bin/env python3
"""Exact RDP of the Poisson-subsampled Gaussian, by numerical integration with mpmath.

    A_alpha = E_{t ~ N(0, 1)}[(1 - q + q exp(t / sigma - 1 / (2 sigma^2)))^alpha],  RDP = log(A_alpha) / (alpha - 1)

(Mironov, Talwar, Zhang 2019, Sec. 3.3), integrated by tanh-sinh quadrature (mpmath.quad) with breakpoints
at the centre of every exponential tilt of the Gaussian, in a working precision that keeps 40 digits of
A - 1 however small it is. Every value is computed twice, at two precisions, and must agree to 1e-25;
integer orders are also checked against the exact binomial sum. Writes test/vectors/rdp-mpmath.json,
which test/accounting/rdp-numerics.test.ts compares privkit with.

    python3 scripts/vectors/rdp_mpmath.py
"""
import json
import math
import pathlib

from mpmath import mp, mpf, binomial, exp, expm1, inf, log, log1p, quad, sqrt, pi

# A grid over the regimes privkit meets (tiny q, large sigma, orders near 1, q near 1, huge orders) plus corners
# where the RDP is ~1e-15 or far smaller.
SAMPLE_RATES = ['1e-6', '1e-3', '0.01', '0.1', '0.5', '0.9', '0.999']
SIGMAS = ['0.3', '0.6', '1', '2', '5', '50', '1e4']
ORDERS = ['1.01', '1.1', '1.5', '2', '3.7', '10.9', '32', '200.5', '1024']
CORNERS = [
    ('1e-6', '50', '1.1'),
    ('1e-6', '50', '1.01'),
    ('1e-6', '50', '2'),
    ('1e-8', '1e8', '1.5'),
    ('1e-10', '0.5', '1.5'),
    ('1e-20', '0.2', '2.5'),
    ('1e-4', '1e3', '10.5'),
    ('0.999999', '1e3', '3.3'),
    ('0.5', '0.15', '2.5'),
    ('1e-12', '0.1', '1.2'),
]


def a_minus_one(q, sigma, alpha, dps):
    """A_alpha - 1 by quadrature at `dps` digits, for the doubles q, sigma, alpha."""
    with mp.workdps(dps):
        q, s, a = mpf(q), mpf(sigma), mpf(alpha)
        shift = 1 / (2 * s * s)

        def integrand(t):
            return exp(-t * t / 2) / sqrt(2 * pi) * ((1 - q + q * exp(t / s - shift)) ** a - 1)

        # Breakpoints at the centres of the tilted Gaussians: 0 (no tilt), 1/sigma, 2/sigma and alpha/sigma
        # (the Gaussian times e^{k w}), and the kink t0 where q e^w = 1 - q.
        centres = {mpf(0), 1 / s, 2 / s, a / s}
        if q < 1:
            centres.add((s * s * log(1 / q - 1) + mpf(1) / 2) / s)
        value, error = quad(integrand, [-inf] + sorted(centres) + [inf], error=True, maxdegree=10)
        if not abs(error) <= abs(value) * mpf(10) ** -30:
            raise RuntimeError(f'quadrature error {error} for {value} at q={q} sigma={sigma} alpha={alpha}')
        return value


def exact_integer(q, sigma, alpha, dps):
    with mp.workdps(dps):
        q, s = mpf(q), mpf(sigma)
        return sum(binomial(alpha, i) * q**i * (1 - q) ** (alpha - i) * expm1(mpf(i * i - i) / (2 * s * s)) for i in range(2, alpha + 1))


def rdp(q, sigma, alpha):
    q, sigma, alpha = float(q), float(sigma), float(alpha)
    # Leading term of A - 1 (binom(alpha, 2) q^2 (e^{1/sigma^2} - 1)) sets how many digits the cancellation against 1 costs.
    with mp.workdps(30):
        lead = mpf(alpha) * (mpf(alpha) - 1) / 2 * mpf(q) ** 2 * expm1(1 / mpf(sigma) ** 2)
        lost = max(0, -int(math.floor(float(log(lead, 10))))) if lead < 1 else 0
    dps = 45 + lost
    first = a_minus_one(q, sigma, alpha, dps)
    second = a_minus_one(q, sigma, alpha, dps + 15)
    with mp.workdps(dps + 15):
        if abs(first - second) > abs(second) * mpf(10) ** -25:
            raise RuntimeError(f'precisions disagree at q={q} sigma={sigma} alpha={alpha}: {first} vs {second}')
        if alpha.is_integer():
            exact = exact_integer(q, sigma, int(alpha), dps + 15)
            if abs(exact - second) > abs(exact) * mpf(10) ** -25:
                raise RuntimeError(f'quadrature {second} != binomial sum {exact} at q={q} sigma={sigma} alpha={alpha}')
        return log1p(second) / (mpf(alpha) - 1)


def main():
    cases = [(q, s, a) for q in SAMPLE_RATES for s in SIGMAS for a in ORDERS] + CORNERS
    vectors = []
    for q, s, a in cases:
        value = rdp(q, s, a)
        vectors.append({'sampleRate': float(q), 'noiseMultiplier': float(s), 'alpha': float(a), 'rdp': float(value)})
        print(q, s, a, mp.nstr(value, 20), flush=True)
    out = pathlib.Path(__file__).resolve().parents[2] / 'test' / 'vectors' / 'rdp-mpmath.json'
    out.write_text(
        json.dumps(
            {
                'description': 'RDP of one Poisson-subsampled Gaussian step, exact to double precision (mpmath quadrature, 45+ digits)',
                'generator': 'scripts/vectors/rdp_mpmath.py',
                'vectors': vectors,
            },
            indent=1,
        )
        + '\n'
    )


if __name__ == '__main__':
    main()
