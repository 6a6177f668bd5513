# Independent values for test/dp/sampler-error.test.ts (src/dp/sampler-error.ts), with mpmath at 80 digits.
# Usage: python3 sampler-error.py > sampler-error.json
# - vTrue: the area v of each Ziggurat layer for R = 3.6541528853610088 (the layer equation
#   v = R phi'(R) + integral_R^inf phi', phi'(x) = exp(-x^2/2)), against which the wasm's float64 tables are checked.
# - tails: P(|N| >= L - 1/t) for the scales the samplers use (the ideal mass of the tail set; L = 16 for
#   t >= 1, 40 below).
# - cells: the largest relative change of a cell's normal mass when both edges move out or in by
#   D(b) (b the outer edge; the displacement table of sampler-error.ts: the uniform's grid, the logarithm
#   within 1 ulp, the roundings of the division, the sum and t N), over cells at scale t up to |N| = 16
#   and up to 40 (sampler-error.ts bounds it by 2 D(b) b / (1 - e^(-b/t))).
import json, mpmath as mp
mp.mp.dps = 80
R = mp.mpf('3.6541528853610088')
f = lambda x: mp.e ** (-mp.mpf(x) ** 2 / 2)
v_true = R * f(R) + mp.sqrt(mp.pi / 2) * mp.erfc(R / mp.sqrt(2))
Q = lambda x: mp.erfc(mp.mpf(x) / mp.sqrt(2)) / 2
def two_sided(a):
    return 2 * Q(a)
scales = [0.3, 0.5, 1, 3, 128, 2 ** 12, 2 ** 17, 2 ** 23, 2 ** 24]
tails = [{'scale': t, 'mass': float(two_sided((16 if t >= 1 else 40) - mp.mpf(1) / t))} for t in scales]
def below(x):
    # the spacing of the doubles just below x
    e = 0
    while mp.mpf(2) ** e < x: e += 1
    while mp.mpf(2) ** (e - 1) >= x: e -= 1
    return mp.mpf(2) ** (e - 53)
def D(b):
    b = mp.mpf(b)
    layers = mp.mpf(2) ** -51 + mp.mpf(2) ** -52
    tail = 0 if b <= R else (mp.mpf(2) ** -52 + below(R * (b - R))) / R + below(b - R) / 2 + below(b) / 2
    return max(layers, tail) + b * mp.mpf(2) ** -53
def worst(t, top):
    # cells [(z - 1/2)/t, (z + 1/2)/t] with outer edge <= top: the mass change is relatively largest at the
    # outermost cells (density falls fastest there) and at the central one; check a spread of them.
    t = mp.mpf(t); best = mp.mpf(0)
    zmax = int(mp.floor(top * t - mp.mpf(1) / 2))
    zs = sorted(set([0, 1, 2, zmax, zmax - 1, zmax // 2, zmax // 3, max(0, zmax - 10)]))
    for z in zs:
        a, b = (z - mp.mpf(1) / 2) / t, (z + mp.mpf(1) / 2) / t
        if b > top: continue
        d = D(b)
        # P(x <= N <= y) through the upper tail Q (no cancellation against 1 far out)
        between = lambda x, y: Q(x) - Q(y) if x >= 0 else (1 - Q(-x) - Q(y))
        mass = between(a, b)
        grown = between(a - d, b + d) / mass - 1
        shrunk = 1 - between(a + d, b - d) / mass
        best = max(best, grown, shrunk)
    return best
cells = [{'scale': t, 'top': top, 'worst': float(worst(t, top))} for t in scales for top in (16, 40)]
print(json.dumps({'vTrue': float(v_true), 'tails': tails, 'cells': cells}, indent=1))
