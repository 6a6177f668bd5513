// The floating-point soundness of a DP-SGD step's release (src/tfjs/noised-sum.ts): the clipped sum
// is formed in float64 from each example's own contribution, so one example moves it by its own
// clipped norm (to within the charged 2 M gamma_M C), where a float32 sum of the same contributions
// moves by more than C (absorption: Casacuberta et al. 2022); and the noised sum lies on the lattice
// r Z, a function of nearest(sum / r) only, so its low-order bits carry nothing of the sum (Mironov 2012).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import type { Rng } from '../../dist/src/dp/rng.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { noisedClippedMean, planRelease } from '../../dist/src/tfjs/noised-sum.js';
import { LayerChain } from '../../dist/src/tfjs/layers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await ready();
});

const seed = (n: number) => new Uint8Array(32).fill(n);

describe('the clipped sum', () => {
  // One weight w = 1, input a, squared error against y: example gradient 2 (a - y) a. The record x has
  // gradient -1.5 (a = 1, y = 1.75); the n others +t each, t = 2^-31 (a = t, y = t - 0.5): in
  // float32, -1.5 plus up to 64 of them rounds back to -1.5 (64 t is half an ulp of 1.5), so a
  // matMul that sums blocks of up to 64 terms loses all of them when x comes first, and counts
  // n t = 2^-14 without x.
  const n = 2 ** 17;
  const t = 2 ** -31;
  const C = 1.5;
  const data = (withRecord: boolean) => {
    const a = [...(withRecord ? [1] : []), ...Array<number>(n).fill(t)];
    const y = [...(withRecord ? [1.75] : []), ...Array<number>(n).fill(t - 0.5)];
    return { xs: tf.tensor2d(a, [a.length, 1]), ys: tf.tensor2d(y, [y.length, 1]) };
  };

  it('float32 (the earlier path): adding the record moves the sum by more than C', () => {
    // the earlier weighted sum: A^T diag(c) G in one float32 matMul, c = C / (norm + 1e-6) for the record
    const sum32 = (withRecord: boolean) =>
      tf.tidy(() => {
        const { xs } = data(withRecord);
        const g = tf.tensor2d([...(withRecord ? [-1.5 * Math.min(1, C / (1.5 + 1e-6))] : []), ...Array<number>(n).fill(1)], [xs.shape[0]!, 1]);
        return tf.matMul(xs, g, true, false).dataSync()[0]!;
      });
    expect(Math.abs(sum32(true) - sum32(false))).toBeGreaterThan(C * (1 + 2 ** -16));
  });

  it("float64 (makePrivate's sum): adding the record moves the sum by its own clipped contribution, within the charged sensitivity", () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [1], units: 1, useBias: false, kernelInitializer: 'ones' })] });
    const chain = new LayerChain(model);
    // makePrivate's step up to the noise: ghost norms, clip factors min(1, C / (norm + 1e-6)), the float64 clipped sum
    const sum64 = (withRecord: boolean) => {
      const { xs, ys } = data(withRecord);
      const pass = chain.backward(xs, (out) => tf.sum(tf.square(tf.sub(out, ys))));
      const clipFactors = Float64Array.from(pass.norms.dataSync(), (norm) => Math.min(1, C / (norm + 1e-6)));
      const { sum } = pass.clippedSum([{ layers: [0], factors: clipFactors, bound: C }]);
      tf.dispose([pass.norms, pass.loss, xs, ys]);
      pass.dispose();
      return sum[0]!;
    };
    const withRecord = sum64(true);
    const without = sum64(false);
    expect(without).toBeCloseTo(n * t, 15);
    const moved = Math.abs(withRecord - without);
    // the record's own contribution: 1.5 clipped by C / (ghost norm + 1e-6), the ghost norm an upper bound of 1.5 within 1e-6; the charged sensitivity for batches of n + 1
    expect(moved).toBeLessThanOrEqual((1.5 * C) / (1.5 + 1e-6));
    expect(moved).toBeGreaterThan((1.5 * C) / (1.5 + 1e-6) - 1e-6);
    const M = n + 1;
    const summed = C * (1 + (2 * M * M * 2 ** -53) / (1 - M * 2 ** -53));
    expect(moved).toBeLessThanOrEqual(summed);
    // what the release charges: that, plus the lattice rounding r sqrt(d)
    const release = planRelease(1, C, 1, M);
    expect(release.sensitivity).toBeGreaterThanOrEqual(summed + 2 ** (Math.ceil(Math.log2(release.sigma)) - release.bits));
  });

  it('each example contributes at most C exactly, whatever the backend rounding (the float64 norm of the values summed)', () => {
    // gradients up to 1e30: the float64 weights bound every example's contribution, none more than C
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 })] });
    const chain = new LayerChain(model);
    const xs = tf.tensor2d([[1e15, -3e14, 7], [1, 2, 3], [0, 0, 1e-30]]);
    const pass = chain.backward(xs, (out) => tf.sum(tf.mul(out, tf.tensor2d([[1e15, 3], [1, -1], [1e-20, 0]]))));
    for (const example of [0, 1, 2]) {
      const clipFactors = Float64Array.from([0, 1, 2], (i) => (i === example ? 1 : 0));
      const { sum } = pass.clippedSum([{ layers: [0], factors: clipFactors, bound: 0.75 }]);
      expect(Math.hypot(...sum)).toBeLessThanOrEqual(0.75);
    }
    tf.dispose([pass.norms, pass.loss, xs]);
    pass.dispose();
  });
});

describe("an example's contribution is a function of that example alone (the backend assumption of the privacy argument)", () => {
  it('is bit-identical (ghost norm, clip factor and contribution) in a batch of 1, of 100 and of 101 (one record added in front), cpu backend', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [70], units: 50, activation: 'tanh' }), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
    const chain = new LayerChain(model);
    const xs = tf.randomNormal([101, 70], 0, 1, 'float32', 5);
    const ys = tf.oneHot(tf.randomUniform([101], 0, 10, 'int32', 6), 10);
    const loss = (y: tf.Tensor) => (out: tf.Tensor) => tf.neg(tf.sum(tf.mul(y, tf.log(out)))) as tf.Scalar;
    /** Example `index`'s clipped contribution in the batch of rows [from, to): its ghost-norm clip factor (makePrivate's), all others 0. */
    const contribution = (from: number, to: number, index: number) => {
      const x = tf.slice(xs, from, to - from);
      const y = tf.slice(ys, from, to - from);
      const pass = chain.backward(x, loss(y));
      const norms = pass.norms.dataSync();
      const factors = Float64Array.from(norms, (norm, i) => (i + from === index ? Math.min(1, 0.05 / (norm + 1e-6)) : 0));
      const { sum } = pass.clippedSum([{ layers: [0, 1], factors, bound: 0.05 }]);
      tf.dispose([pass.norms, pass.loss, x, y]);
      pass.dispose();
      return { sum, norm: norms[index - from]! };
    };
    for (const index of [1, 37, 100]) {
      const alone = contribution(index, index + 1, index);
      expect(alone.norm).toBeGreaterThan(0.05); // clipped: the factor matters
      for (const [from, to] of [[1, 101], [0, 101]] as const) {
        const inBatch = contribution(from, to, index);
        expect(inBatch.norm).toBe(alone.norm);
        expect(inBatch.sum).toEqual(alone.sum);
      }
    }
  });
});

describe('the noised sum lies on the lattice', () => {
  it('a plan whose sums could leave the lattice exact range (2^52 steps) is refused up front, not mid-training', () => {
    expect(() => planRelease(10, 1, 1e-12, 2 ** 20)).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'noiseMultiplier' }));
    expect(planRelease(10, 1, 1e-9, 2 ** 10).sigma).toBeGreaterThan(1e-9);
  });

  const variables = [tf.variable(tf.zeros([4, 3])), tf.variable(tf.zeros([3]))];
  const release = planRelease(15, 1, 1.1, 100);
  const noised = (sum: Float64Array) => {
    const { grads } = noisedClippedMean(variables, [{ layers: [0], norms: new Float32Array(1), bound: 1 }], () => ({ sum: sum.slice() }), { release, denominator: 1, rng: createRng({ seed: seed(6) }) as unknown as Rng });
    const values = variables.flatMap((v) => Array.from(grads[v.name]!.dataSync()));
    tf.dispose(Object.values(grads));
    return values;
  };
  const r = 2 ** (Math.ceil(Math.log2(release.sigma)) - release.bits);

  it('every released value is (the float32 of) a multiple of r = 2^(ceil(log2 sigma) - bits)', () => {
    const sum = Float64Array.from({ length: 15 }, (_, j) => Math.sin(j + 1) * 3.3);
    for (const value of noised(sum)) expect(Math.fround(Math.round(value / r) * r)).toBe(value);
  });

  it('sums in the same lattice cells give bit-identical releases (nothing below the lattice step reaches the output)', () => {
    const base = Float64Array.from({ length: 15 }, (_, j) => (j - 7) * 0.731 * r * 1000 + Math.round(j * 1.7) * r);
    const shifted = base.map((x, j) => x + (((j % 5) - 2) / 5) * r); // within +-0.4 r of the lattice point
    expect(noised(shifted)).toEqual(noised(base));
  });
});
