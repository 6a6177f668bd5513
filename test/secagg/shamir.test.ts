// Shamir secret sharing (Shamir 1979): hand-computed vectors over GF(97), reconstruction from any
// t shares over GF(2^521 - 1), secrecy of t - 1 shares (chi-square on the joint distribution of
// two shares of a 1-bit secret), and the errors for bad thresholds, points and share counts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHAMIR_PRIME, lagrangeAtZero, shamirCombine, shamirCombiner, shamirSplit, type ShamirShare } from 'privkit/secagg';
import { FC_SEED, expectPrivkitError } from '../support/helpers.js';
import { chiSquareSf } from '../support/noise-stats.js';

const P97 = { prime: 97n };

function chiSquare(counts: readonly number[], expected: number): number {
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

/** All k-subsets of `items`. */
function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [head!, ...s]), ...subsets(rest, k)];
}

describe('Shamir over GF(97): hand-computed vectors', () => {
  // f(x) = 42 + 13x + 7x^2 mod 97: f(1) = 62, f(2) = 96, f(3) = 144 - 97 = 47, f(4) = 206 - 194 = 12, f(5) = 282 - 194 = 88.
  const shares: ShamirShare[] = [
    { x: 1, y: 62n },
    { x: 2, y: 96n },
    { x: 3, y: 47n },
    { x: 4, y: 12n },
    { x: 5, y: 88n },
  ];

  it('Lagrange coefficients at 0', () => {
    // xs 1,2,3: 2*3/((2-1)(3-1)) = 3, 1*3/((1-2)(3-2)) = -3 = 94, 1*2/((1-3)(2-3)) = 1
    expect(lagrangeAtZero([1, 2, 3], P97)).toEqual([3n, 94n, 1n]);
    // xs 2,4,5 (1/3 = 65 mod 97): 20/6 = 10*65 = 68, 10/(-2) = -5 = 92, 8/3 = 8*65 = 35
    expect(lagrangeAtZero([2, 4, 5], P97)).toEqual([68n, 92n, 35n]);
  });

  it('every 3 of the 5 shares give the secret 42; 4 or 5 shares too', () => {
    for (const subset of [...subsets(shares, 3), ...subsets(shares, 4), shares]) {
      expect(shamirCombine(subset, 3, P97)).toBe(42n);
    }
  });

  it('2 shares of a degree-2 polynomial with threshold 2 give a wrong value (the threshold matters)', () => {
    expect(shamirCombine(shares.slice(0, 2), 2, P97)).not.toBe(42n); // the line through (1,62), (2,96) meets 0 at 28
    expect(shamirCombine(shares.slice(0, 2), 2, P97)).toBe(28n);
  });

  it('split shares lie on one polynomial of degree t - 1 with f(0) = secret', () => {
    for (let trial = 0; trial < 20; trial++) {
      const split = shamirSplit(BigInt(trial), 3, 6, P97);
      expect(split.map((s) => s.x)).toEqual([1, 2, 3, 4, 5, 6]);
      for (const subset of subsets(split, 3)) expect(shamirCombine(subset, 3, P97)).toBe(BigInt(trial));
    }
  });
});

describe('Shamir over GF(2^521 - 1)', () => {
  it('the field is the Mersenne prime 2^521 - 1', () => {
    expect(SHAMIR_PRIME).toBe(2n ** 521n - 1n);
  });

  it('any t of n shares reconstruct a 256-bit secret (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        (secret, t, extra, picks) => {
          const n = t + extra;
          const shares = shamirSplit(secret, t, n);
          for (const pick of picks) {
            // a pseudo-random t-subset from `pick`
            const pool = [...shares];
            const chosen: ShamirShare[] = [];
            for (let k = 0, r = pick; k < t; k++, r = Math.floor(r / 7) + k) chosen.push(...pool.splice(r % pool.length, 1));
            expect(shamirCombine(chosen, t)).toBe(secret);
          }
          expect(shamirCombine(shares, t)).toBe(secret);
        },
      ),
      { seed: FC_SEED, numRuns: 100 },
    );
  });

  it('shares at chosen points (client index + 1), combined in any order', () => {
    const secret = 2n ** 255n + 12345n;
    const shares = shamirSplit(secret, 3, 4, { xs: [7, 2, 11, 5] });
    expect(shares.map((s) => s.x)).toEqual([7, 2, 11, 5]);
    expect(shamirCombine([shares[3]!, shares[0]!, shares[2]!], 3)).toBe(secret);
    const combine = shamirCombiner(3);
    expect(combine([shares[1]!, shares[2]!, shares[3]!])).toBe(secret);
    expect(combine([shares[3]!, shares[2]!, shares[1]!])).toBe(secret);
  });

  it('t - 1 shares of a 1-bit secret are uniform whatever the secret (chi-square, alpha = 1e-6)', () => {
    // GF(7), t = 3: the shares at x = 1, 2 of a random degree-2 polynomial are uniform on 7 x 7
    // cells for secret 0 and for secret 1. Control: with t = 2 the same two shares determine the
    // secret (2 f(1) - f(2) = f(0)), so they cover only 7 cells and the statistic explodes.
    const samples = 49 * 200;
    const pValue = (secret: bigint, t: number) => {
      const counts = new Array<number>(49).fill(0);
      for (let i = 0; i < samples; i++) {
        const [a, b] = shamirSplit(secret, t, 3, { prime: 7n });
        counts[Number(a!.y) * 7 + Number(b!.y)]!++;
      }
      return chiSquareSf(chiSquare(counts, samples / 49), 48);
    };
    expect(pValue(0n, 3)).toBeGreaterThan(1e-6);
    expect(pValue(1n, 3)).toBeGreaterThan(1e-6);
    expect(pValue(0n, 2)).toBeLessThan(1e-6);
  });
});

describe('Shamir errors', () => {
  it('t > n, t < 1, a secret outside the field, bad points', () => {
    expectPrivkitError(() => shamirSplit(5n, 4, 3, P97), 'E_ARG', 'threshold');
    expectPrivkitError(() => shamirSplit(5n, 0, 3, P97), 'E_ARG', 'threshold');
    expectPrivkitError(() => shamirSplit(97n, 2, 3, P97), 'E_ARG', 'secret');
    expectPrivkitError(() => shamirSplit(-1n, 2, 3, P97), 'E_ARG', 'secret');
    expectPrivkitError(() => shamirSplit(5n, 2, 3, { ...P97, xs: [1, 2, 2] }), 'E_ARG', 'xs', 2);
    expectPrivkitError(() => shamirSplit(5n, 2, 3, { ...P97, xs: [0, 1, 2] }), 'E_ARG', 'xs', 0);
    expectPrivkitError(() => shamirSplit(5n, 2, 3, { ...P97, xs: [1, 2, 97] }), 'E_ARG', 'xs', 2);
    expectPrivkitError(() => shamirSplit(5n, 2, 3, { ...P97, xs: [1, 2] }), 'E_SHAPE', 'xs');
  });

  it('duplicate x, too few shares, values outside the field', () => {
    const shares = shamirSplit(5n, 2, 3, P97);
    expectPrivkitError(() => shamirCombine([shares[0]!, { ...shares[1]!, x: 1 }], 2, P97), 'E_ARG', 'shares', 1);
    expectPrivkitError(() => shamirCombine(shares.slice(0, 1), 2, P97), 'E_THRESHOLD', 'shares');
    expectPrivkitError(() => shamirCombine([shares[0]!, { x: 2, y: 97n }], 2, P97), 'E_ARG', 'shares', 1);
    expectPrivkitError(() => lagrangeAtZero([3, 3], P97), 'E_ARG', 'xs', 1);
  });
});
