// Quantization into Z_2^b (src/secagg/quantize.ts): bit-exact agreement with the reference given the
// keystream's rounding words and tie uniforms (fast-check; every value a tie), the round-trip error
// bound, unbiasedness of stochastic rounding, wrap-around of negative values, sums of (masked)
// quantized vectors, conditional rounding (with noise kept across redrawn roundings), every error
// path, seeded reproducibility across chunks, and memory stability. The noise's distribution is
// tested in dp/discrete-gaussian-wasm.test.ts.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import * as ref from 'privkit/reference';
import { applyMasks, dequantize, MAX_ROUNDING_ATTEMPTS, quantize } from 'privkit/secagg';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { dpWasm } from '../../dist/src/dp/wasm.js';
import { catchPrivkitError, expectPrivkitError, FC_SEED, randomMatrix, seededRng } from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 80, endOnFailure: true });

beforeAll(ready);

const seedOf = (byte: number) => Uint8Array.from({ length: 32 }, (_, i) => (byte * 29 + i * 3) & 0xff);
const seeded = (byte: number) => createRng({ seed: seedOf(byte) });
/** Values per staging window of src/secagg/quantize.ts: 1 MiB of float32 (WINDOW_BYTES of src/wasm/boundary.ts). */
const CHUNK = 262_144;

/** Values per keystream block of the kernel (assembly/dp/discrete.ts BATCH). */
const BATCH = 512;

/**
 * The rounding randomness quantize draws without noise, read from the seeded keystream as the kernel
 * lays it out: per batch of up to BATCH values, a block of bytes w_i (8-bit words), then for
 * each tie (isTie(i, w_i)) in value order a full-precision uniform U_i (the generator's next uniform:
 * 8 bytes, more on the extended binade). Returns the words and the tie uniforms (0 where no tie).
 */
function keystreamRounding(byte: number, n: number, isTie: (i: number, w: number) => boolean) {
  const rng = seeded(byte);
  const words = new Uint8Array(n);
  // only ties read their uniform; the others hold a valid value the reference never reads
  const tieUniforms = new Float64Array(n);
  for (let start = 0; start < n; start += BATCH) {
    const m = Math.min(BATCH, n - start);
    words.set(rng.fill(new Uint8Array(m)), start);
    for (let i = start; i < start + m; i++) if (isTie(i, words[i]!)) tieUniforms[i] = rng.uniform(1)[0]!;
  }
  return { words, tieUniforms };
}

/** keystreamRounding for quantize(x, { scale, rng: seeded(byte) }): a tie is w_i = floor(f 2^8), f = v - floor(v). */
function keystreamWords(byte: number, x: Float32Array, scale: number) {
  return keystreamRounding(byte, x.length, (i, w) => {
    const v = x[i]! * scale;
    return w === Math.floor((v - Math.floor(v)) * 2 ** 8);
  });
}

/** The centered signed value of a word in Z_2^bits. */
const signed = (word: number, bits: number) => (word >= 2 ** (bits - 1) ? word - 2 ** bits : word);

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v, i) => v === b[i]);

describe('agrees with the reference', () => {
  it('bit for bit, given the uniforms of the keystream (fast-check: lengths, values, scales, bits)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer(),
        fc.constantFrom(1, 3.7, 2 ** 10, 1e5, 2 ** 20),
        fc.constantFrom(1, 8, 20, 32),
        fc.integer({ min: 0, max: 255 }),
        (n, dataSeed, scale, bits, rngByte) => {
          const x = randomMatrix(1, n, dataSeed, 'normal'); // |x| in [1e-3, 1e3]
          const q = quantize(x, { scale, bits, rng: seeded(rngByte) });
          const expected = ref.quantize(x, { scale, bits, ...keystreamWords(rngByte, x, scale) });
          expect(same(q, expected)).toBe(true);
        },
      ),
    );
  });

  it('across wasm chunks (543,217 values) and with tiny, zero and huge values', () => {
    const n = 2 * CHUNK + 18_929;
    const rand = seededRng(3);
    const x = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : (rand() - 0.5) * 10 ** (10 * rand() - 6)));
    const randomness = keystreamWords(4, x, 2 ** 30);
    expect(same(quantize(x, { scale: 2 ** 30, bits: 32, rng: seeded(4) }), ref.quantize(x, { scale: 2 ** 30, bits: 32, ...randomness }))).toBe(true);
  });

  it('ties (w = floor(f 2^8)) are decided by a fresh full-precision uniform: every value a tie, f 2^8 - w = s in [0, 1)', () => {
    // x = w + s with s = k / 2^16 and scale 2^-8: f 2^8 = x, so the kernel rounds up iff U < s.
    const n = 3 * BATCH + 7; // whole batches, then a scalar tail
    const x = new Float32Array(n);
    const s = (i: number) => ((i * 7919) % 65536) / 65536;
    const { words, tieUniforms } = keystreamRounding(12, n, (i, w) => {
      x[i] = w + s(i);
      return true;
    });
    expect(x.every((v, i) => v === words[i]! + s(i))).toBe(true); // exact in float32
    const scale = 2 ** -8;
    const q = quantize(x, { scale, bits: 20, rng: seeded(12) });
    expect(same(q, ref.quantize(x, { scale, bits: 20, words, tieUniforms }))).toBe(true);
    expect(Array.from(q).every((w, i) => w === (tieUniforms[i]! < s(i) ? 1 : 0))).toBe(true);
    // about the expected number of round-ups: sum of s, within 5 standard deviations
    const ups = q.reduce((sum, w) => sum + w, 0);
    const mean = x.reduce((sum, _, i) => sum + s(i), 0);
    const sd = Math.sqrt(x.reduce((sum, _, i) => sum + s(i) * (1 - s(i)), 0));
    expect(Math.abs(ups - mean)).toBeLessThan(5 * sd);
  });

  it('dequantize matches the reference', () => {
    const words = seeded(1).uint32(10_000);
    for (const bits of [1, 8, 20, 32]) {
      const sum = words.map((w) => (bits === 32 ? w : w % 2 ** bits));
      expect(same(dequantize(sum, { scale: 3.3, bits }), ref.dequantize(sum, { scale: 3.3, bits }))).toBe(true);
    }
  });
});

describe('round trip without noise', () => {
  it('|dequantize(quantize(x)) - x| < 1/scale up to float64 rounding, + half a float32 ulp of the result (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer(),
        fc.double({ min: 0, max: 20, noNaN: true }),
        (n, dataSeed, log2Scale) => {
          const scale = 2 ** log2Scale; // |x scale| <= 1e3 2^20 < 2^31: no wrap-around at 32 bits
          const x = randomMatrix(1, n, dataSeed, 'normal');
          const q = quantize(x, { scale, bits: 32 });
          const back = dequantize(q, { scale, bits: 32 });
          const bad: number[] = [];
          for (let i = 0; i < n; i++) {
            // |q - fl(x scale)| < 1; fl(x scale) and the float64 quotient q / scale each round by 2^-53 relative
            const float64 = 2 ** -51 * (Math.abs(x[i]!) + 1 / scale);
            const exact = signed(q[i]!, 32) / scale;
            if (!(Math.abs(exact - x[i]!) < 1 / scale + float64)) bad.push(i);
            if (!(Math.abs(back[i]! - x[i]!) < 1 / scale + float64 + 2 ** -24 * Math.abs(back[i]!))) bad.push(i);
          }
          expect(bad, `x = ${x[bad[0]!]}, back = ${back[bad[0]!]}`).toEqual([]);
        },
      ),
    );
  });

  it('values already on the grid come back exactly (frac = 0 never rounds up)', () => {
    const x = Float32Array.from({ length: 4000 }, (_, i) => (i - 2000) / 64);
    const q = quantize(x, { scale: 64, bits: 20 });
    expect(same(dequantize(q, { scale: 64, bits: 20 }), x)).toBe(true);
  });
});

describe('stochastic rounding is unbiased', () => {
  // Value j is quantized M times: mean(q) - v_j has standard error sqrt(f (1 - f) / M). With 5.5
  // standard errors per value (two-sided 3.8e-8) the 8 checks together have alpha < 1e-6.
  it('the mean of 250,000 roundings of each of 8 values equals x scale within 5.5 standard errors', () => {
    const values = [0.1, 0.5, 0.9, -0.3, -2.75, 1e-3, -7.999, 12345.67];
    const scale = 1.7;
    const M = 250_000;
    const x = new Float32Array(values.length * M);
    for (let i = 0; i < x.length; i++) x[i] = values[i % values.length]!;
    const q = quantize(x, { scale, bits: 32, rng: seeded(9) });
    for (const [j] of values.entries()) {
      const v = Math.fround(values[j]!) * scale;
      const f = v - Math.floor(v);
      let sum = 0;
      for (let i = j; i < x.length; i += values.length) sum += signed(q[i]!, 32);
      expect(Math.abs(sum / M - v), `value ${values[j]}`).toBeLessThan(5.5 * Math.sqrt((f * (1 - f)) / M));
    }
  });

  it('the test can fail: a rounding biased by 0.01 (uniforms shifted by 0.01, reference) is detected', () => {
    const M = 250_000;
    const x = new Float32Array(M).fill(0.5);
    const v = Math.fround(0.5) * 1.7;
    const f = v - Math.floor(v);
    // uniforms in [0, 1), shifted up by 0.01 (those above 0.99 moved above f): P(round up) = f - 0.01
    const uniforms = seeded(9).uniform(M).map((u) => (u < 0.99 ? u + 0.01 : 0.995));
    const q = ref.quantize(x, { scale: 1.7, bits: 32, uniforms });
    let sum = 0;
    for (const w of q) sum += signed(w, 32);
    expect(Math.abs(sum / M - v)).toBeGreaterThan(5.5 * Math.sqrt((f * (1 - f)) / M));
  });
});

describe('wrap-around into Z_2^bits', () => {
  for (const bits of [1, 8, 20, 32]) {
    it(`bits = ${bits}: integers k map to k mod 2^bits (two's complement) and back to their centered value`, () => {
      const m = 2 ** bits;
      const candidates = [0, 1, -1, 2, -2, 3, -3, 100, -100, m / 2 - 1, -m / 2, m / 2, m - 1, m, m + 1, -m - 1, 5 * m + 3, -(2 ** 40), 2 ** 40 + 2 ** 20];
      const ks = candidates.filter((k) => Math.fround(k) === k); // exact in float32 (at 32 bits, m - 1 and m + 1 are not)
      expect(ks.length).toBeGreaterThanOrEqual(14);
      const x = Float32Array.from(ks);
      const q = quantize(x, { scale: 1, bits });
      expect(Array.from(q)).toEqual(ks.map((k) => ((k % m) + m) % m));
      const back = dequantize(q, { scale: 1, bits });
      expect(Array.from(back)).toEqual(ks.map((k) => signed(((k % m) + m) % m, bits)));
      for (const [i, k] of ks.entries()) if (k >= -m / 2 && k < m / 2) expect(back[i]).toBe(k);
    });
  }
});

describe('sums mod 2^bits', () => {
  it('n quantized vectors summed mod 2^bits dequantize to the sum of the inputs within n / scale', () => {
    const n = 20;
    const d = 1000;
    const scale = 2 ** 10;
    const bits = 20; // |sum x scale| + n <= 20 * 1024 + 20 < 2^19
    const inputs = Array.from({ length: n }, (_, c) => Float32Array.from(randomMatrix(1, d, c, 'normal'), (v) => Math.sign(v) * Math.min(1, Math.abs(v))));
    const total = new Uint32Array(d);
    for (const [c, x] of inputs.entries()) {
      const q = quantize(x, { scale, bits, rng: seeded(c) });
      for (let i = 0; i < d; i++) total[i] = (total[i]! + q[i]!) % 2 ** bits;
    }
    const sum = dequantize(total, { scale, bits });
    for (let i = 0; i < d; i++) {
      const exact = inputs.reduce((s, x) => s + x[i]!, 0);
      expect(Math.abs(sum[i]! - exact)).toBeLessThan(n / scale + 2 ** -24 * Math.abs(sum[i]!));
    }
  });

  it('the same through pairwise masks that cancel (applyMasks), with wrapped negative values', () => {
    const d = 3000;
    const bits = 16;
    const scale = 100; // |x scale| <= 100, 3 clients: far from 2^15
    const xs = [0, 1, 2].map((c) => Float32Array.from({ length: d }, (_, i) => Math.sin(i * (c + 1)) * (c === 1 ? -1 : 1)));
    const s = [seedOf(101), seedOf(102), seedOf(103)];
    const masks = [
      [{ seed: s[0]! }, { seed: s[1]! }],
      [{ seed: s[0]!, subtract: true }, { seed: s[2]! }],
      [{ seed: s[1]!, subtract: true }, { seed: s[2]!, subtract: true }],
    ];
    const total = new Uint32Array(d);
    for (let c = 0; c < 3; c++) {
      const masked = applyMasks(quantize(xs[c]!, { scale, bits, rng: seeded(c + 50) }), masks[c]!, bits);
      for (let i = 0; i < d; i++) total[i] = (total[i]! + masked[i]!) % 2 ** bits;
    }
    const sum = dequantize(total, { scale, bits });
    for (let i = 0; i < d; i++) {
      expect(Math.abs(sum[i]! - (xs[0]![i]! + xs[1]![i]! + xs[2]![i]!))).toBeLessThan(3 / scale + 1e-6);
    }
  });
});

describe("rounding: 'conditional' (KLS21 section 4)", () => {
  const normOf = (q: Uint32Array, bits: number) => Math.sqrt(q.reduce((s, w) => s + signed(w, bits) ** 2, 0));

  it('every result has ||q||_2 <= conditionalBound, for a bound that rejects about half of the roundings', () => {
    const x = Float32Array.from({ length: 400 }, (_, i) => 0.5 + 0.01 * Math.sin(i)); // q in {0, 1}
    const scale = 1;
    // ||q||^2 = number of round-ups ~ Binomial(400, ~0.5): the median bound sqrt(200) rejects about half
    const bound = Math.sqrt(200);
    let unconditionalAbove = 0;
    for (let k = 0; k < 40; k++) {
      const q = quantize(x, { scale, bits: 8, rounding: 'conditional', conditionalBound: bound, rng: seeded(k) });
      expect(normOf(q, 8)).toBeLessThanOrEqual(bound);
      if (normOf(quantize(x, { scale, bits: 8, rng: seeded(k) }), 8) > bound) unconditionalAbove++;
    }
    expect(unconditionalAbove).toBeGreaterThan(5); // the condition was needed
  });

  it('with noise, only the rounding is redrawn: the noise of the first pass is kept (bits 8 and 32)', () => {
    const x = Float32Array.from({ length: 400 }, (_, i) => -0.5 + 0.01 * Math.sin(i)); // roundings in {-1, 0}
    const bound = Math.sqrt(200); // ||q||^2 = number of -1s ~ Binomial(400, ~0.5): about half are redrawn
    for (const bits of [8, 32]) {
      let redrawn = 0;
      let differs = 0;
      for (let k = 0; k < 40; k++) {
        const options = { scale: 1, bits, rounding: 'conditional', conditionalBound: bound, rng: seeded(k) } as const;
        // sigma 0.05: the noise is 0 but for probability 1e-86, so q is the accepted rounding
        const q = quantize(x, { ...options, noiseSigma: 0.05 });
        expect(q.every((w) => w === 0 || w === 2 ** bits - 1)).toBe(true);
        expect(normOf(q, bits)).toBeLessThanOrEqual(bound);
        const first = quantize(x, { scale: 1, bits, noiseSigma: 0.05, rng: seeded(k) }); // the first pass alone
        if (normOf(first, bits) > bound) redrawn++;
        else expect(same(q, first)).toBe(true);
        // sigma 3: the conditional result minus the first pass (rounding + the same noise) is a change of rounding
        const noisy = quantize(x, { ...options, noiseSigma: 3, rng: seeded(k) });
        const noisyFirst = quantize(x, { scale: 1, bits, noiseSigma: 3, rng: seeded(k) });
        expect(Array.from(noisy).every((w, i) => Math.abs(signed((w - noisyFirst[i]! + 2 ** bits) % 2 ** bits, bits)) <= 1)).toBe(true);
        if (!same(noisy, noisyFirst)) differs++;
      }
      expect(redrawn).toBeGreaterThan(5);
      expect(differs).toBeGreaterThan(5);
    }
  });

  it('with a loose bound, the first rounding is kept: the same output as stochastic rounding', () => {
    const x = randomMatrix(1, 5000, 8, 'normal');
    const conditional = quantize(x, { scale: 10, bits: 32, rounding: 'conditional', conditionalBound: 1e12, rng: seeded(3) });
    expect(same(conditional, quantize(x, { scale: 10, bits: 32, rng: seeded(3) }))).toBe(true);
  });

  it('adds the noise after the accepted rounding (variance of q - x scale on integer inputs is sigma^2)', () => {
    const n = 200_000;
    const x = new Float32Array(n).fill(-3); // the rounding is exact
    const q = quantize(x, { scale: 1, bits: 16, noiseSigma: 4, rounding: 'conditional', conditionalBound: 1e9, rng: seeded(6) });
    let squares = 0;
    for (const w of q) squares += (signed(w, 16) + 3) ** 2;
    // discrete Gaussian sigma = 4: variance 16 up to e^-315, fourth moment 3 sigma^4; 5 standard errors
    expect(Math.abs(squares / n - 16)).toBeLessThan(5 * Math.sqrt((3 * 256 - 256) / n));
  });

  it(`gives up with E_ARG after ${MAX_ROUNDING_ATTEMPTS} attempts when the bound is (practically) unreachable`, () => {
    const x = new Float32Array(100).fill(0.5); // ||q||^2 ~ Binomial(100, 1/2); <= 1 has probability 1e-28
    const error = expectPrivkitError(
      () => quantize(x, { scale: 1, bits: 8, rounding: 'conditional', conditionalBound: 1, rng: seeded(1) }),
      'E_ARG',
      'opts.conditionalBound',
    );
    expect(error.message).toContain(`${MAX_ROUNDING_ATTEMPTS} attempts`);
  });
});

describe('errors', () => {
  const x = new Float32Array(8).fill(0.5);

  it('non-finite x: E_NONFINITE with the index (also beyond the first chunk)', () => {
    for (const [index, value] of [[3, NaN], [0, Infinity], [CHUNK + 7, -Infinity]] as const) {
      const y = new Float32Array(CHUNK + 100).fill(0.25);
      y[index] = value;
      expectPrivkitError(() => quantize(y, { scale: 4, bits: 16 }), 'E_NONFINITE', 'x', index);
      expectPrivkitError(() => quantize(y, { scale: 4, bits: 16, rounding: 'conditional', conditionalBound: 1e9 }), 'E_NONFINITE', 'x', index);
    }
    const tail = new Float32Array(7).fill(1); // the kernel's scalar tail
    tail[6] = NaN;
    expectPrivkitError(() => quantize(tail, { scale: 1, bits: 8 }), 'E_NONFINITE', 'x', 6);
  });

  it('|x scale| >= 2^52: E_OVERFLOW with the index, never a clamped value', () => {
    const y = new Float32Array(1000).fill(1);
    y[555] = -(2 ** 30);
    expectPrivkitError(() => quantize(y, { scale: 2 ** 22, bits: 32 }), 'E_OVERFLOW', 'x', 555);
    const z = Float32Array.of(1, 2, 2 ** 40); // scalar tail
    expectPrivkitError(() => quantize(z, { scale: 2 ** 12, bits: 32 }), 'E_OVERFLOW', 'x', 2);
    // just below the limit is fine: (2^52 - 2^28) mod 2^32 = 2^32 - 2^28
    expect(quantize(Float32Array.of(2 ** 24 - 1), { scale: 2 ** 28, bits: 32 })[0]).toBe(2 ** 32 - 2 ** 28);
  });

  it('bad scale, bits, noiseSigma, rounding, conditionalBound, rng, opts or x: E_ARG naming it', () => {
    for (const scale of [0, -1, NaN, Infinity, '2', undefined]) {
      expectPrivkitError(() => quantize(x, { scale, bits: 8 } as any), 'E_ARG', 'opts.scale');
      expectPrivkitError(() => dequantize(new Uint32Array(2), { scale, bits: 8 } as any), 'E_ARG', 'opts.scale');
    }
    for (const bits of [0, 33, 1.5, -8, NaN, '8', undefined]) {
      expectPrivkitError(() => quantize(x, { scale: 1, bits } as any), 'E_ARG', 'opts.bits');
      expectPrivkitError(() => dequantize(new Uint32Array(2), { scale: 1, bits } as any), 'E_ARG', 'opts.bits');
    }
    for (const noiseSigma of [-1, NaN, Infinity, 2 ** 25, '1']) {
      expectPrivkitError(() => quantize(x, { scale: 1, bits: 8, noiseSigma } as any), 'E_ARG', 'opts.noiseSigma');
    }
    expectPrivkitError(() => quantize(x, { scale: 1, bits: 8, rounding: 'nearest' } as any), 'E_ARG', 'opts.rounding');
    expectPrivkitError(() => quantize(x, { scale: 1, bits: 8, rounding: 'conditional' }), 'E_ARG', 'opts.conditionalBound');
    expectPrivkitError(() => quantize(x, { scale: 1, bits: 8, conditionalBound: 3 }), 'E_ARG', 'opts.conditionalBound');
    for (const conditionalBound of [0, -1, NaN]) {
      expectPrivkitError(() => quantize(x, { scale: 1, bits: 8, rounding: 'conditional', conditionalBound }), 'E_ARG', 'opts.conditionalBound');
    }
    expectPrivkitError(() => quantize(x, { scale: 1, bits: 8, rng: {} } as any), 'E_ARG', 'opts.rng');
    // no options (undefined or null) are no fields: the first required one is named; a non-object is refused as such
    expectPrivkitError(() => quantize(x, undefined as any), 'E_ARG', 'opts.scale');
    expectPrivkitError(() => quantize(x, null as any), 'E_ARG', 'opts.scale');
    expectPrivkitError(() => quantize(x, 3 as any), 'E_ARG', 'opts');
    expectPrivkitError(() => quantize(new Float64Array(8) as any, { scale: 1, bits: 8 }), 'E_ARG', 'x');
    expectPrivkitError(() => quantize([0.5] as any, { scale: 1, bits: 8 }), 'E_ARG', 'x');
  });

  it('dequantize: sum must be a Uint32Array of values below 2^bits (E_ARG with the index)', () => {
    expectPrivkitError(() => dequantize(new Int32Array(4) as any, { scale: 1, bits: 8 }), 'E_ARG', 'sum');
    expectPrivkitError(() => dequantize(Uint32Array.of(0, 255, 256), { scale: 1, bits: 8 }), 'E_ARG', 'sum', 2);
    expectPrivkitError(() => dequantize(Uint32Array.of(1, 2), { scale: 1, bits: 1 }), 'E_ARG', 'sum', 1);
    expectPrivkitError(() => dequantize(Uint32Array.of(1), null as any), 'E_ARG', 'opts.scale');
    expectPrivkitError(() => dequantize(Uint32Array.of(1), 'opts' as any), 'E_ARG', 'opts');
  });

  it('a failed call leaves the engine working', () => {
    const y = Float32Array.of(1, NaN);
    catchPrivkitError(() => quantize(y, { scale: 1, bits: 8 }));
    expect(Array.from(quantize(Float32Array.of(1, -1), { scale: 1, bits: 8 }))).toEqual([1, 255]);
  });
});

describe('randomness', () => {
  it('the same seed gives the same output, with and without noise; another seed another one', () => {
    const x = randomMatrix(1, 10_000, 5, 'normal');
    for (const noiseSigma of [0, 7.5]) {
      const a = quantize(x, { scale: 100, bits: 24, noiseSigma, rng: seeded(1) });
      expect(same(quantize(x, { scale: 100, bits: 24, noiseSigma, rng: seeded(1) }), a)).toBe(true);
      expect(same(quantize(x, { scale: 100, bits: 24, noiseSigma, rng: seeded(2) }), a)).toBe(false);
    }
  });

  it('chunking does not change the output: a prefix of whole chunks is quantized the same alone', () => {
    const x = randomMatrix(1, CHUNK + 5000, 6, 'normal');
    const whole = quantize(x, { scale: 10, bits: 32, noiseSigma: 3, rng: seeded(3) });
    const prefix = quantize(x.subarray(0, CHUNK), { scale: 10, bits: 32, noiseSigma: 3, rng: seeded(3) });
    expect(same(whole.subarray(0, CHUNK), prefix)).toBe(true);
  });

  it('the default generator is a CSPRNG: two unseeded calls differ', () => {
    const x = new Float32Array(1000).fill(0.5);
    expect(same(quantize(x, { scale: 1, bits: 8 }), quantize(x, { scale: 1, bits: 8 }))).toBe(false);
  });

  it('Math.random appears in none of the sources', () => {
    for (const file of ['assembly/secagg/quantize.ts', 'assembly/secagg/rotation.ts', 'assembly/dp/discrete.ts', 'src/secagg/quantize.ts', 'src/secagg/rotation.ts', 'src/reference/secagg.ts']) {
      expect(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'), file).not.toMatch(/Math\.random/);
    }
  });
});

describe('memory', () => {
  const memoryBytes = () => runtime.withWasm(dpWasm, (_kernels, arena) => arena.memoryBytes);
  const arenaTop = () => runtime.withWasm(dpWasm, (_kernels, arena) => arena.mark());

  it('many calls, small and larger than the staging window, do not grow wasm memory', () => {
    const small = randomMatrix(1, 37, 1, 'normal');
    const large = randomMatrix(1, 3 * CHUNK + 11, 2, 'normal');
    const rng = seeded(1);
    const calls = [
      () => quantize(small, { scale: 8, bits: 16, rng }),
      () => quantize(small, { scale: 8, bits: 16, noiseSigma: 2, rng }),
      () => quantize(small, { scale: 8, bits: 16, noiseSigma: 2, rounding: 'conditional', conditionalBound: 1e6, rng }),
      () => quantize(large, { scale: 8, bits: 16, noiseSigma: 2, rng }),
    ];
    for (const call of calls) call();
    const bytes = memoryBytes();
    const top = arenaTop();
    for (let i = 0; i < 3000; i++) calls[i % 3]!();
    for (let i = 0; i < 20; i++) calls[3]!();
    expect(memoryBytes()).toBe(bytes);
    expect(arenaTop()).toBe(top);
  });
});
