# Birthday collision probabilities for test/protect/desensitize.test.ts, computed with mpmath at 120
# significant digits from the exact product: P = 1 - N! / ((N - n)! N^n), N = 2^bits, through
# log-gamma (no term-by-term sum, so n can be far beyond what a loop reaches).
# Run: python3 test/vectors/collision-vectors.py > test/vectors/collision.json
import json
from mpmath import mp, mpf, loggamma, log, expm1

mp.dps = 120

CASES = [
    (2**20, 48), (3_000_000, 48), (2**24, 64), (10**9, 64), (2**32, 64), (2**32 - 1, 80),
    (10**12, 96), (2**40, 128), (2**48, 128), (2**52, 128), (5 * 10**6, 40), (2**30, 60),
]

out = []
for n, bits in CASES:
    N = mpf(2) ** bits
    log_none = loggamma(N + 1) - loggamma(N - n + 1) - n * log(N)
    out.append({"distinctValues": n, "tokenBits": bits, "probability": float(-expm1(log_none))})
import mpmath
print(json.dumps({"source": f"mpmath {mpmath.__version__}, 120 digits, log-gamma", "cases": out}, indent=1))
