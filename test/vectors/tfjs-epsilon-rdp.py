# Independent epsilon of privkit/tfjs's standard MNIST config (N 8000, expected batch 512: q = 0.064, 10 epochs = 160 steps,
# delta 1e-5, d = 101,770 parameters: lattice 17 bits, slack s = gaussianSlackAt(17, d) per step), for test/tfjs/attacks.test.ts.
# Usage: python3 tfjs-epsilon-rdp.py q z T delta s  (prints JSON; z = the noise multiplier makePrivate calibrated).
# Independent RDP of the Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019): integer orders by
# the exact binomial sum, fractional orders by numerical integration of E_{mu0}[(mu/mu0)^alpha],
# mu = (1-q) mu0 + q mu1 (add/remove; for the Gaussian the mu0-vs-mu direction dominates, MTZ Thm 5),
# plus the lattice sampler's slack s (2 alpha - 1)/(alpha - 1) per step; (eps, delta) by Balle et al. 2020 Thm 21.
# The sampler's tail mass (1.3e-52 per step: (1 + e^3) x 160 x 1.3e-52 = 4e-49 of delta) is far below this resolution and not modeled.
import sys, json, mpmath as mp
mp.mp.dps = 50
def rdp_int(q, z, a):
    A = mp.fsum(mp.binomial(a, k) * (1 - q) ** (a - k) * q ** k * mp.e ** ((k * k - k) / (2 * z * z)) for k in range(a + 1))
    return mp.log(A) / (a - 1)
def rdp_frac(q, z, a):
    mu0 = lambda x: mp.npdf(x, 0, z)
    f = lambda x: mu0(x) * ((1 - q) + q * mp.e ** ((2 * x - 1) / (2 * z * z))) ** a
    A = mp.quad(f, [-mp.inf, -20 * z, 0, 0.5, 20 * z + a / z ** 2 * 2, mp.inf])
    return mp.log(A) / (a - 1)
def eps(q, z, T, delta, slack, orders):
    best = (mp.inf, None)
    for a in orders:
        r = (rdp_int(q, z, int(a)) if a == int(a) else rdp_frac(q, z, a)) + slack * (2 * a - 1) / (a - 1)
        e = T * r + mp.log1p(-1 / mp.mpf(a)) - (mp.log(delta) + mp.log(a)) / (a - 1)
        if e < best[0]: best = (e, a)
    return best
q, z, T, delta = mp.mpf(sys.argv[1]), mp.mpf(sys.argv[2]), int(sys.argv[3]), mp.mpf(sys.argv[4])
slack = mp.mpf(sys.argv[5])
orders = [1 + (i + 1) / 10 for i in range(99)] + list(range(11, 64)) + [128, 256, 512, 1024]
ints = [a for a in orders if a == int(a)]
e_int = eps(q, z, T, delta, slack, ints)
e_all = eps(q, z, T, delta, slack, [a for a in orders if a < 30])
print(json.dumps({'eps_integer_orders': float(e_int[0]), 'order_int': e_int[1], 'eps_all_orders': float(e_all[0]), 'order_all': e_all[1], 'eps_no_slack_int': float(eps(q, z, T, delta, 0, ints)[0])}))
