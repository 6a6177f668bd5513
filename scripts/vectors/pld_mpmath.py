#!/usr/bin/env python3
"""Exact (epsilon, delta) of K-fold Poisson-subsampled Gaussian compositions, by Fourier inversion with mpmath.

For one direction of the neighbouring pair (remove: loss L = log(P/Q) under P; add: log(Q/P) under Q, with
P = (1-q) N(0, s^2) + q N(1, s^2) and Q = N(0, s^2)), the hockey-stick divergence of the K-fold composition is

    delta(eps) = E[(1 - e^{eps - L_K})_+] = (1 / 2 pi i) int_{c - i inf}^{c + i inf} M(s)^K e^{-s eps} / (s (s + 1)) ds,   c > 0,

since the two-sided Laplace transform of x -> (1 - e^{eps - x})_+ is e^{-s eps} / (s (s + 1)), where M(s) is one
step's moment generating function of the loss: M(s) = G(1 + s) (remove) or G(-s) (add), G(b) = E_Q[(P/Q)^b].
G is integrated by the trapezoid rule in z / s, and so is the inversion integral along the vertical line
through the saddle point (both integrands are analytic, so the rule converges exponentially; each result is
checked against half the steps), everything at 50 digits. epsilon(delta) is then the root of delta(eps) = delta, and the exact
epsilon of the pair is the larger of the two directions. No discretization, no FFT: an independent check of
privkit's PLD accountant. Checked against the closed form for the Gaussian mechanism (q = 1).
Writes test/vectors/pld-mpmath.json for test/stat/accounting/pld.test.ts.

    python3 scripts/vectors/pld_mpmath.py
"""
import json
import pathlib
import sys

from mpmath import mp, mpf, mpc, erfc, erfinv, exp, findroot, log, pi, sqrt

mp.dps = 50

# (q, sigma, steps, delta): the three compositions on which privkit's PLD once returned 0, 2^24+ steps,
# and ordinary DP-SGD settings.
CASES = [
    (0.01, 1.1, 100_000_000, 1e-5),
    (0.01, 0.8, 30_000_000, 1e-5),
    (0.05, 3.0, 100_000, 1e-5),
    (0.001, 1.0, 2**24, 1e-5),
    (1e-4, 1.0, 2**24, 1e-5),
    (2e-4, 0.8, 2**25, 1e-6),
    (0.01, 1.0, 1000, 1e-5),
    (0.02, 1.0, 200, 1e-5),
    (0.004, 0.7, 10_000, 1e-5),
    (0.1, 2.0, 5000, 1e-8),
    (1.0, 2.0, 50, 1e-5),
]


class Step:
    """One step's loss: G(b) = E_{t ~ N(0,1)}[rho(s t)^b], rho(z) = 1 - q + q e^{(2z - 1) / (2 s^2)}."""

    def __init__(self, q, sigma, step_factor=1):
        self.q, self.s = mpf(q), mpf(sigma)
        self.step = mpf('0.2') * min(1, self.s) / step_factor

    def log_rho(self, t):
        w = t / self.s - 1 / (2 * self.s**2)
        return w if self.q == 1 else log(1 - self.q + self.q * exp(w))

    def moments(self, b):
        """G(b) and G'(b) (the latter = E[rho^b log rho]) by the trapezoid rule over the tilted Gaussian's mass."""
        tilt = mp.re(b)
        lo = min(0, tilt, 1) / self.s - 14
        hi = max(0, tilt, 1) / self.s + 14
        n = int((hi - lo) / self.step) + 1
        g = dg = 0
        for k in range(n + 1):
            t = lo + k * self.step
            lr = self.log_rho(t)
            term = exp(b * lr - t * t / 2)
            g += term
            dg += term * lr
        scale = self.step / sqrt(2 * pi)
        return g * scale, dg * scale


def log_mgf(step, s, remove):
    """log M(s) and d/ds log M(s) for the loss of one step."""
    b = 1 + s if remove else -s
    g, dg = step.moments(b)
    return log(g), (dg / g) * (1 if remove else -1)


def saddle(step, steps, eps, remove):
    """c > 0 with K (log M)'(c) = eps (the steepest-descent line of the inversion integral)."""
    slope = lambda c: steps * log_mgf(step, c, remove)[1] - eps  # increasing: log M is convex
    hi = mpf(1)
    while slope(hi) < 0:
        hi *= 2
    return findroot(slope, (hi / 2 if slope(hi / 2) < 0 else mpf(10) ** -6, hi), solver='illinois', tol=mpf(10) ** -20)


def delta(step, steps, eps, remove, c, refine=1):
    """delta(eps) by the trapezoid rule on the vertical line Re s = c (the integrand is analytic and even in t)."""

    def integrand(t):
        s = mpc(c, t)
        return mp.re(exp(steps * log_mgf(step, s, remove)[0] - s * eps) / (s * (s + 1)))

    # The integrand is a Gaussian bump of width 1 / sqrt(K (log M)''(c)); the poles of 1 / (s (s + 1)) are c away.
    h = mpf(10) ** -8
    second = (log_mgf(step, c + h, remove)[1] - log_mgf(step, c - h, remove)[1]) / (2 * h)
    width = 1 / sqrt(steps * second)
    spacing = min(width / 6, c / 12) / refine
    total = integrand(mpf(0)) / 2
    k = 1
    while True:
        term = integrand(k * spacing)
        total += term
        if k * spacing > 12 * width and abs(term) < abs(total) * mpf(10) ** -30:
            break
        k += 1
    return total * spacing / pi


def epsilon(q, sigma, steps, target, remove, guess):
    step = Step(q, sigma)
    c = saddle(step, steps, mpf(guess), remove)
    # delta(eps) for eps near the guess, all on the line through c (any c > 0 gives the exact value).
    start = (mpf(guess), mpf(guess) * (1 + mpf(10) ** -4) + mpf(10) ** -4)
    root = findroot(lambda e: log(delta(step, steps, e, remove, c)) - log(mpf(target)), start, solver='secant', tol=mpf(10) ** -24)
    # Both quadratures must have converged: half the step in each changes nothing.
    check = delta(Step(q, sigma, step_factor=2), steps, root, remove, c, refine=2)
    if abs(check / mpf(target) - 1) > mpf(10) ** -15:
        raise RuntimeError(f'quadrature not converged: delta {check} vs {target}')
    # -d log(delta) / d eps at the root: how much epsilon a relative change of delta moves.
    h = mpf(10) ** -10
    slope = (log(delta(step, steps, root - h, remove, c)) - log(delta(step, steps, root + h, remove, c))) / (2 * h)
    return root, slope


def gaussian_delta(sigma, eps):
    """Balle & Wang 2018, Thm 8: delta(eps) of the Gaussian mechanism with noise multiplier sigma."""
    Phi = lambda x: erfc(-x / sqrt(2)) / 2
    return Phi(1 / (2 * sigma) - eps * sigma) - exp(eps) * Phi(-1 / (2 * sigma) - eps * sigma)


def guess_epsilon(q, sigma, steps, delta_target):
    """A starting point: the normal approximation of the composed remove loss."""
    step = Step(q, sigma)
    mean = steps * log_mgf(step, mpf(0), True)[1]
    h = mpf(10) ** -8
    var = steps * (log_mgf(step, h, True)[1] - log_mgf(step, -h, True)[1]) / (2 * h)
    return mean + sqrt(2 * var) * erfinv(1 - 2 * mpf(delta_target))


def main():
    # Self-check on the Gaussian mechanism (q = 1, 50 compositions of sigma = 2 are one with sigma = 2 / sqrt(50)).
    sigma, steps, target = mpf(2), 50, mpf('1e-5')
    closed = findroot(lambda e: log(gaussian_delta(sigma / sqrt(steps), e)) - log(target), mpf(3))
    inverted = epsilon(1, 2, steps, target, True, closed)[0]
    if abs(inverted - closed) > mpf(10) ** -20:
        sys.exit(f'Gaussian self-check failed: {inverted} vs {closed}')
    print('gaussian self-check', mp.nstr(inverted, 25), mp.nstr(closed, 25), flush=True)

    results = []
    for q, sigma, steps, target in CASES:
        guess = guess_epsilon(q, sigma, steps, target)
        (remove, remove_slope), (add, add_slope) = [epsilon(q, sigma, steps, target, r, guess) for r in (True, False)]
        results.append(
            {
                'sampleRate': q,
                'noiseMultiplier': sigma,
                'steps': steps,
                'delta': target,
                'epsilon': float(max(remove, add)),
                'epsilonRemove': float(remove),
                'epsilonAdd': float(add),
                'logDeltaSlope': float(remove_slope if remove >= add else add_slope),
            }
        )
        print(q, sigma, steps, target, mp.nstr(remove, 20), mp.nstr(add, 20), mp.nstr(remove_slope, 8), flush=True)
    out = pathlib.Path(__file__).resolve().parents[2] / 'test' / 'vectors' / 'pld-mpmath.json'
    out.write_text(
        json.dumps(
            {
                'description': 'Exact epsilon(delta) of K-fold Poisson-subsampled Gaussian compositions (Fourier inversion, 50 digits)',
                'generator': 'scripts/vectors/pld_mpmath.py',
                'cases': results,
            },
            indent=1,
        )
        + '\n'
    )


if __name__ == '__main__':
    main()
