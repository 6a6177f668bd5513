// The FFT used to compose privacy loss distributions, and its double-double companions (one DFT
// frequency, and the K-th power of a spectrum value) that keep K-fold compositions accurate.
import { describe, expect, it } from 'vitest';
import { accurateDft, accuratePower, fft, twiddles } from '../../dist/src/accounting/fft.js';
import { expectPrivkitError, seededRng } from '../support/helpers.js';

describe('fft', () => {
  it('matches the naive DFT and inverts (unnormalized) on random input', () => {
    const n = 256;
    const rand = seededRng(7);
    const re = Float64Array.from({ length: n }, () => rand() - 0.5);
    const im = Float64Array.from({ length: n }, () => rand() - 0.5);
    const [re0, im0] = [re.slice(), im.slice()];
    const table = twiddles(n);
    fft(re, im, table);
    for (const f of [0, 1, 17, 128, 255]) {
      let sr = 0;
      let si = 0;
      for (let j = 0; j < n; j++) {
        const a = (-2 * Math.PI * ((f * j) % n)) / n;
        sr += re0[j]! * Math.cos(a) - im0[j]! * Math.sin(a);
        si += re0[j]! * Math.sin(a) + im0[j]! * Math.cos(a);
      }
      expect(Math.abs(re[f]! - sr)).toBeLessThan(1e-12);
      expect(Math.abs(im[f]! - si)).toBeLessThan(1e-12);
    }
    fft(re, im, table, true);
    for (let j = 0; j < n; j++) expect(Math.abs(re[j]! / n - re0[j]!) + Math.abs(im[j]! / n - im0[j]!)).toBeLessThan(1e-14);
  });

  it('rejects lengths that are not powers of two and mismatched arrays', () => {
    expectPrivkitError(() => twiddles(12), 'E_ARG', 'n');
    expectPrivkitError(() => twiddles(2 ** 31), 'E_ARG', 'n');
    expectPrivkitError(() => fft(new Float64Array(8), new Float64Array(4), twiddles(8)), 'E_SHAPE', 're');
  });
});

/** a b as an exact sum p + e (Dekker). */
function exactProduct(a: number, b: number): [number, number] {
  const p = a * b;
  const split = (x: number) => {
    const t = 134217729 * x;
    const hi = t - (t - x);
    return [hi, x - hi] as const;
  };
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

/** |z|^2 - 1 for z = (reH + reL) + i (imH + imL), without the rounding of reH^2 and imH^2. */
function modulusSquaredMinusOne(reH: number, reL: number, imH: number, imL: number): number {
  const [p1, e1] = exactProduct(reH, reH);
  const [p2, e2] = exactProduct(imH, imH);
  const s = p1 + p2;
  const sumError = Math.abs(p1) >= Math.abs(p2) ? p1 - s + p2 : p2 - s + p1;
  // s - 1 is exact for s in [1/2, 2] (Sterbenz).
  return s - 1 + sumError + e1 + e2 + 2 * (reH * reL + imH * imL);
}

describe('double-double DFT and power', () => {
  it('sums a full period of equal masses to 0 (f != 0) and 1 (f = 0) to ~1e-30, where doubles leave ~1e-16', () => {
    const n = 1 << 12;
    const values = new Float64Array(n).fill(1 / n);
    for (const f of [1, 3, 1000, n / 2, n - 1]) {
      const [reH, reL, imH, imL] = accurateDft(values, -77, f, n);
      expect(Math.hypot(reH + reL, imH + imL)).toBeLessThan(1e-28);
    }
    const [one, oneLow, zero] = accurateDft(values, 5, 0, n);
    expect(one).toBe(1);
    expect(Math.abs(oneLow)).toBeLessThan(1e-30);
    expect(zero).toBe(0);
  });

  it('turns a point mass into e^{-2 pi i f j / n}, of modulus 1 to ~1e-31', () => {
    const n = 1 << 22;
    const values = new Float64Array([0, 0, 1]);
    for (const [first, f] of [[0, 1], [-1000, 12345], [3_000_000, n - 5]] as const) {
      const [reH, reL, imH, imL] = accurateDft(values, first, f, n);
      const angle = (-2 * Math.PI * (((f * (first + 2)) % n) + n)) / n;
      expect(Math.abs(reH - Math.cos(angle))).toBeLessThan(2e-15);
      expect(Math.abs(imH - Math.sin(angle))).toBeLessThan(2e-15);
      expect(Math.abs(modulusSquaredMinusOne(reH, reL, imH, imL))).toBeLessThan(1e-29);
    }
  });

  it('raises (1 - 2^-30) to the power 2^30 + 3 to full double precision (doubles: ~1e-7)', () => {
    const k = 2 ** 30 + 3;
    const [re, im, error] = accuratePower([1 - 2 ** -30, 0, 0, 0], k)!;
    const exact = Math.exp(k * Math.log1p(-(2 ** -30)));
    expect(Math.abs(re - exact) / exact).toBeLessThan(4e-16);
    expect(im).toBe(0);
    expect(error).toBeLessThan(1e-14 * exact);
    expect(Math.abs(re - exact)).toBeLessThanOrEqual(error);
  });

  it('declines values farther than 1/2 from 1', () => {
    expect(accuratePower([0.4, 0, 0, 0], 10)).toBeUndefined();
    expect(accuratePower([1, 0, 0.6, 0], 10)).toBeUndefined();
  });
});
