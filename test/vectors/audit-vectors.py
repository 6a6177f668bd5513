"""Reference values for privkit/audit's statistics (test/vectors/audit.json), computed with mpmath at
40 significant digits, independently of privkit's algorithms:

- betaTails: I_x(a, b) and 1 - I_x(a, b) from mpmath.betainc (hypergeometric series) for moderate
  parameters, and from exact binomial sums (I_x(a, b) = P[Binomial(a + b - 1, x) >= a] for integer a,
  b) for large ones;
- betaQuantile: the root of the tail equation, by bisection (moderate) or Newton's method on the
  exact binomial sum (large integer parameters), started from scipy's betaincinv / betainccinv;
- clopperPearson: the two-sided Clopper-Pearson interval (k, n, confidence);
- oneRun: the p-value of Steinke, Nasr, Jagielski (2023, main theorem, (eps, delta) case) for m canaries, r guesses, v
  correct at (eps, delta), with exact binomial probabilities, and the epsilon lower bound (the
  largest eps whose p-value is below 1 - confidence) by bisection to 1e-13.

Run: python3 test/vectors/audit-vectors.py > test/vectors/audit.json
"""
import json

import mpmath as mp
from scipy import special

mp.mp.dps = 40


def tails_moderate(x, a, b):
    x = mp.mpf(x)
    lower = mp.betainc(a, b, 0, x, regularized=True)
    upper = mp.betainc(a, b, x, 1, regularized=True)
    return lower, upper


def tails_integer(x, a, b):
    """Exact binomial sum: I_x(a, b) = P[Bin(n, x) >= a], n = a + b - 1 (a, b positive integers)."""
    x = mp.mpf(x)
    n = a + b - 1
    lx, ly = mp.log(x), mp.log1p(-x)

    def term(j):
        return mp.exp(mp.loggamma(n + 1) - mp.loggamma(j + 1) - mp.loggamma(n - j + 1) + j * lx + (n - j) * ly)

    def summed(start, step):
        total = mp.mpf(0)
        j = start
        t = term(j)
        peak = t
        while 0 <= j <= n:
            total += t
            peak = max(peak, t)
            if t < peak * mp.mpf(10) ** -45:
                break
            if step > 0:
                t = t * (n - j) / (j + 1) * x / (1 - x)
            else:
                t = t * j / (n - j + 1) * (1 - x) / x
            j += step
        return total

    if a >= n * x:
        upper_part = summed(a, +1)  # P[Bin >= a]
        return upper_part, 1 - upper_part
    lower_part = summed(a - 1, -1)  # P[Bin <= a - 1]
    return 1 - lower_part, lower_part


def quantile_bisect(p, a, b, upper):
    lo, hi = mp.mpf(-745), mp.mpf(745)
    for _ in range(400):
        mid = (lo + hi) / 2
        x = 1 / (1 + mp.exp(-mid))
        lower, up = tails_moderate(x, a, b)
        if (up > p) if upper else (lower < p):
            lo = mid
        else:
            hi = mid
    return 1 / (1 + mp.exp(-(lo + hi) / 2))


def quantile_newton(p, a, b, upper):
    x = mp.mpf(special.betainccinv(a, b, p) if upper else special.betaincinv(a, b, p))
    p = mp.mpf(p)
    for _ in range(60):
        lower, up = tails_integer(x, a, b)
        f = (p - up) if upper else (lower - p)
        density = mp.exp((a - 1) * mp.log(x) + (b - 1) * mp.log1p(-x) - (mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b)))
        step = f / density
        x -= step
        if abs(step) < x * mp.mpf(10) ** -30:
            break
    return x


def num(v):
    return float(v)


out = {"betaTails": [], "betaQuantile": [], "clopperPearson": [], "oneRunPValue": [], "oneRunEpsilon": []}

# --- betaTails
for a, b, x in [
    (0.5, 0.5, 0.3), (1, 1, 0.25), (2.5, 7.5, 0.01), (2.5, 7.5, 0.9), (8, 8, 0.5), (30.25, 2, 0.999),
    (1000.5, 3, 0.9995), (3, 1000.5, 1e-3), (0.75, 40, 1e-12), (12, 300, 0.2), (300, 12, 0.8),
    # near the mean with one parameter huge and the other small: the hardest case for the continued fraction
    (7276829.912975636, 1.3376658000856794, 0.9999988134173465), (0.8104214689985749, 9420115.51743827, 2.121330310718976e-7),
]:
    lower, upper = tails_moderate(x, a, b)
    out["betaTails"].append({"x": x, "a": a, "b": b, "lower": num(lower), "upper": num(upper)})
for a, b, x in [
    (1, 10**6, 1e-7), (5, 10**6, 2e-6), (100, 10**6 - 99, 9e-5), (250000, 750001, 0.2495),
    (999990, 11, 0.99998), (5 * 10**6, 5 * 10**6 + 1, 0.4999), (37, 2 * 10**7, 1.2e-6), (20000, 30000, 0.39),
]:
    lower, upper = tails_integer(x, a, b)
    out["betaTails"].append({"x": x, "a": a, "b": b, "lower": num(lower), "upper": num(upper)})

# --- betaQuantile
for a, b in [(0.5, 0.5), (1, 1), (2.5, 7.5), (8, 8), (30.25, 2), (1000.5, 3), (0.75, 40), (12, 300)]:
    for p in [1e-12, 1e-6, 0.005, 0.3]:
        for upper in [False, True]:
            x = quantile_bisect(p, a, b, upper)
            out["betaQuantile"].append({"p": p, "a": a, "b": b, "upper": upper, "x": num(x)})
for a, b in [(1, 10**6), (5, 10**6), (100, 10**6 - 99), (250000, 750001), (999990, 11), (5 * 10**6, 5 * 10**6 + 1), (37, 2 * 10**7)]:
    for p in [5e-7, 0.005]:
        for upper in [False, True]:
            x = quantile_newton(p, a, b, upper)
            out["betaQuantile"].append({"p": p, "a": a, "b": b, "upper": upper, "x": num(x)})

# --- clopperPearson (two-sided interval at `confidence`)
for k, n in [(0, 1000), (1, 1000), (1000, 1000), (17, 50000), (25000, 50000), (49990, 50000), (3, 2 * 10**6), (184000, 500000)]:
    for confidence in [0.99, 1 - 1e-6]:
        alpha = (1 - mp.mpf(confidence)) / 2
        lower = 0 if k == 0 else quantile_newton(num(alpha), k, n - k + 1, False)
        upper = 1 if k == n else quantile_newton(num(alpha), k + 1, n - k, True)
        out["clopperPearson"].append({"k": k, "n": n, "confidence": confidence, "lower": num(lower), "upper": num(upper)})


# --- one-run auditing (Steinke, Nasr, Jagielski 2023, main theorem), exact binomial probabilities
def one_run_p_value(m, r, v, eps, delta):
    q = 1 / (1 + mp.exp(-mp.mpf(eps)))
    pmf = [mp.binomial(r, j) * q**j * (1 - q) ** (r - j) for j in range(r + 1)]
    f = lambda w: mp.fsum(pmf[max(w, 0):]) if w <= r else mp.mpf(0)  # P[Bin(r, q) >= w]
    best = mp.mpf(0)
    for i in range(1, m + 1):
        if i > v:
            break  # f(v - i) = 1 from here on, so (f(v - i) - f(v)) / i only decreases
        best = max(best, (f(v - i) - f(v)) / i)
    return min(mp.mpf(1), f(v) + 2 * m * mp.mpf(delta) * best)


def one_run_epsilon(m, r, v, delta, confidence):
    alpha = 1 - mp.mpf(confidence)
    if one_run_p_value(m, r, v, 0, delta) >= alpha:
        return mp.mpf(0)
    lo, hi = mp.mpf(0), mp.mpf(1)
    while one_run_p_value(m, r, v, hi, delta) < alpha:
        lo, hi = hi, hi * 2
    while hi - lo > mp.mpf(10) ** -13:
        mid = (lo + hi) / 2
        if one_run_p_value(m, r, v, mid, delta) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


for m, r, v, eps, delta in [
    (1000, 100, 90, 1.0, 0), (1000, 100, 90, 2.0, 1e-5), (1000, 1000, 700, 0.5, 1e-5), (500, 50, 50, 3.0, 1e-6),
    (2000, 200, 120, 0.2, 1e-5), (100, 20, 15, 0.0, 0), (1000, 100, 60, 1.5, 1e-3),
]:
    out["oneRunPValue"].append({"m": m, "r": r, "v": v, "epsilon": eps, "delta": delta, "p": num(one_run_p_value(m, r, v, eps, delta))})
for m, r, v, delta, confidence in [
    (1000, 100, 90, 0, 0.95), (1000, 100, 90, 1e-5, 0.95), (1000, 1000, 700, 1e-5, 0.95), (500, 50, 50, 1e-6, 0.99),
    (2000, 200, 120, 1e-5, 0.95), (1000, 100, 52, 1e-5, 0.95), (1000, 200, 200, 0, 0.999), (1000, 100, 60, 1e-3, 0.95),
]:
    out["oneRunEpsilon"].append({"m": m, "r": r, "v": v, "delta": delta, "confidence": confidence, "epsilon": num(one_run_epsilon(m, r, v, delta, confidence))})

print(json.dumps(out, indent=1))
