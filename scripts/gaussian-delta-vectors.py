#!/usr/bin/env python3
# Reference values for the analytic Gaussian mechanism (Balle and Wang 2018, Theorem 8), computed with
# mpmath at 80 to 1000 significant digits (more where the two terms cancel), for test/dp/calibration.test.ts:
#   delta(s, epsilon) = Phi(1/(2s) - epsilon s) - e^epsilon Phi(-1/(2s) - epsilon s)
# (noise sigma = s Delta for sensitivity Delta), and the root s*(epsilon, delta) of delta(s, epsilon) = delta.
# Writes test/vectors/gaussian-delta.json. Every s below is a double, evaluated exactly as that double.
# Run: python3 scripts/gaussian-delta-vectors.py
import json
import os
import random

from mpmath import mp, mpf, erfc, exp, log, sqrt

mp.dps = 100

EPSILONS = [1e-12, 1e-11, 1e-10, 1e-8, 1e-6, 1e-4, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 100.0]
DELTAS = [1e-300, 1e-250, 1e-200, 1e-100, 1e-50, 1e-20, 1e-10, 1e-5, 1e-3, 0.01, 0.1, 0.3, 0.49, 0.4999999]
# Beyond the grid: the audit's epsilon 1e-14, delta 1e-50, and extreme epsilon and delta.
EXTRA = [(1e-14, 1e-50), (1e-13, 1e-5), (1e-300, 1e-5), (1e-100, 1e-100), (1e4, 1e-300), (1e30, 1e-5), (1e-12, 5e-324), (1.0, 5e-324)]
# Off-root points: s* times these factors (the delta there is recorded if it is >= 1e-300).
FACTORS = [0.25, 0.5, 0.9, 0.999, 1.001, 1.1, 2.0, 4.0]


def phi(x):
    return erfc(-x / sqrt(2)) / 2


def delta_of(s, epsilon, extra=0):
    """delta(s, epsilon) to ~60 significant digits: the two terms cancel to about 1/(s^2 epsilon) relative
    and e^epsilon carries epsilon times the working precision, so the precision grows with s and
    |log epsilon| (plus `extra` digits, for the self-check in main)."""
    digits = 80 + extra + 2 * max(0, int(mp.log10(mpf(s)))) + int(abs(mp.log10(mpf(epsilon))))
    with mp.workdps(digits):
        s = mpf(s)
        epsilon = mpf(epsilon)
        value = phi(1 / (2 * s) - epsilon * s) - exp(epsilon) * phi(-1 / (2 * s) - epsilon * s)
    return +value


def root(epsilon, delta):
    """s with delta_of(s, epsilon) = delta, by bisection on log s (delta_of decreases in s)."""
    target = log(mpf(delta))
    # delta(1e-6 / sqrt(epsilon)) ~ 1; delta(s) < delta beyond the classic bound sqrt(2 ln(1.25/delta)) / epsilon + 2
    lo, hi = log(mpf(10) ** -6 / sqrt(max(1, epsilon))), log(sqrt(2 * log(mpf(1.25) / delta)) / epsilon + 2)
    for _ in range(300):
        mid = (lo + hi) / 2
        if log(delta_of(exp(mid), epsilon)) > target:
            lo = mid
        else:
            hi = mid
    return exp((lo + hi) / 2)


def log_slope(s, epsilon):
    """d log(delta) / d log(s) at s (central difference at 1e-30 relative, exact to ~1e-30 at >= 80 digits)."""
    h = mpf(10) ** -30
    up = log(delta_of(s * (1 + h), epsilon))
    down = log(delta_of(s * (1 - h), epsilon))
    return (up - down) / (2 * h)


def boundary_points():
    """(epsilon, s) pairs where the evaluation switches method in src/dp/calibration.ts: ya = y0 - eta
    at -1 and 10 and the half-gap eta = 1 / (2 sqrt 2 s) at 1e-2 (y0 = epsilon s / sqrt 2), each side."""
    out = []
    for s in [0.05, 0.3, 1.0, 10.0, 35.35533905932738, 35.35533905932737, 36.0, 1000.0, 1e6, 1e12]:
        eta = 1 / (2 * 2**0.5 * s)
        for ya in [-1 - 1e-9, -1 + 1e-9, 0.0, 1.0, 5.0, 10 - 1e-9, 10 + 1e-9, 20.0, 26.0]:
            epsilon = (ya + eta) * 2**0.5 / s
            if 1e-13 <= epsilon <= 200:
                out.append((epsilon, s))
    return out


def random_points(count, seed):
    """(epsilon, s) with epsilon log-uniform in [1e-12, 100] and s within 30% of a root for a log-uniform delta."""
    rand = random.Random(seed)
    out = []
    for _ in range(count):
        epsilon = 10 ** rand.uniform(-12, 2)
        delta = 10 ** rand.uniform(-300, -0.302)
        s = float(root(epsilon, delta) * mpf(rand.uniform(0.7, 1.3)))
        out.append((epsilon, s))
    return out


def text(x):
    return mp.nstr(x, 25, min_fixed=1, max_fixed=0)


def main():
    roots = []
    points = []
    pairs = [(e, d) for e in EPSILONS for d in DELTAS] + EXTRA
    for epsilon, delta in pairs:
        s = root(epsilon, delta)
        roots.append(
            {
                "epsilon": epsilon,
                "delta": delta,
                "s": text(s),
                "logSlope": text(log_slope(s, epsilon)),
            }
        )
        for factor in FACTORS + [1.0]:
            point = float(s * mpf(factor))  # a double: evaluated exactly as that double
            value = delta_of(point, epsilon)
            check = delta_of(point, epsilon, extra=40)
            assert abs(value / check - 1) < mpf(10) ** -50, (epsilon, point)
            if value >= mpf(10) ** -300:
                points.append({"epsilon": epsilon, "s": repr(point), "delta": text(value)})
    for epsilon, point in boundary_points() + random_points(300, 20260611):
        value = delta_of(point, epsilon)
        if value >= mpf(10) ** -300:
            points.append({"epsilon": epsilon, "s": repr(point), "delta": text(value)})
    out = {
        "about": (
            "Analytic Gaussian mechanism (Balle and Wang 2018, Thm 8), mpmath at >= 80 digits: "
            "delta(s, epsilon) = Phi(1/(2s) - epsilon s) - e^epsilon Phi(-1/(2s) - epsilon s) at doubles s "
            "(points: around the roots of a grid, where the evaluation switches method, and random), and the roots s* of delta(s, epsilon) = delta with d log(delta) / d log(s) there (roots). "
            "Generated by scripts/gaussian-delta-vectors.py."
        ),
        "roots": roots,
        "points": points,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "vectors", "gaussian-delta.json")
    with open(path, "w") as f:
        # one entry per line
        f.write("{\n" + f' "about": {json.dumps(out["about"])},\n')
        for key in ["roots", "points"]:
            rows = ",\n".join("  " + json.dumps(row) for row in out[key])
            f.write(f' "{key}": [\n{rows}\n ]' + (",\n" if key == "roots" else "\n"))
        f.write("}\n")
    print(f"{len(roots)} roots, {len(points)} points -> {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
