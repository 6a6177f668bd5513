// The rounded normal samplers' error charge (src/dp/sampler-error.ts) against independent values
// (test/vectors/sampler-error.py, mpmath) and the wasm's own tables, and how the accountants and the
// Gaussian mechanism charge the tail mass: (1 + e^epsilon) T of delta.
import { readFileSync } from 'node:fs';
import { ready } from 'privkit';
import { PldAccountant, RdpAccountant } from 'privkit/accounting';
import { gaussianMechanism } from 'privkit/dp';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmDiscreteGaussianError } from '../../dist/src/dp/discrete.js';
import { roundedNormalError, slackOf, tailDelta } from '../../dist/src/dp/sampler-error.js';
import { gaussianSlackAt, gaussianTailAt, samplerSlack, samplerTailMass } from '../../dist/src/dp/secure.js';
import { dpWasm } from '../../dist/src/dp/wasm.js';
import * as runtime from '../../dist/src/wasm/runtime.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/sampler-error.json', import.meta.url), 'utf8')) as {
  vTrue: number;
  tails: { scale: number; mass: number }[];
  cells: { scale: number; top: number; worst: number }[];
};

beforeAll(async () => {
  await ready();
});

describe('the Ziggurat tables the wasm samples from', () => {
  /** X[0..256] and f(X[0..256]) as the wasm computed them at start-up. */
  const tables = () =>
    runtime.withWasm(dpWasm, (kernels, arena) => {
      const ptr = arena.alloc(514 * 8);
      const count = kernels.zigguratNormalTables(ptr);
      const all = new Float64Array(kernels.memory.buffer, ptr, count).slice();
      return { x: all.subarray(0, 257), f: all.subarray(257) };
    });

  it('every layer has area v to within a quarter of the charged table error (1e-12)', () => {
    const { x, f } = tables();
    const R = x[1]!;
    expect(R).toBe(3.6541528853610088);
    let worst = 0;
    for (let i = 1; i < 256; i++) {
      // X[i] (f(X[i+1]) - f(X[i])) with the difference formed as f(X[i]) expm1((X[i]^2 - X[i+1]^2) / 2): no cancellation
      const lo = x[i]!;
      const hi = x[i + 1]!;
      const height = Math.exp(-0.5 * lo * lo) * Math.expm1(0.5 * (lo - hi) * (lo + hi));
      worst = Math.max(worst, Math.abs((lo * height) / vectors.vTrue - 1));
      expect(Math.abs(f[i]! / Math.exp(-0.5 * lo * lo) - 1)).toBeLessThan(4e-16); // the wedge tests' f(X[i]), to an ulp
    }
    // layer 0: the base box [0, R] x [0, f(R)] plus the tail, drawn as a box of width X[0] = v / f(R)
    worst = Math.max(worst, Math.abs((x[0]! * Math.exp(-0.5 * R * R)) / vectors.vTrue - 1));
    expect(worst).toBeGreaterThan(1e-15); // the recursion's rounding is visible (the check measures something)
    expect(worst).toBeLessThan(2.5e-13);
  });
});

/**
 * D(b): the largest distance between the wasm's computed normal and the exact one for |N| <= b, step by
 * step from assembly/dp/ziggurat.ts (sampler-error.ts's table), with any libm's logarithm (< 1 ulp).
 */
function displacement(b: number): number {
  const R = 3.6541528853610088;
  const below = (x: number) => 2 ** (Math.ceil(Math.log2(x)) - 53); // the spacing of the doubles just below x
  // layers: the uniform's 2^-53 grid times X[i] <= X[0] = 3.911, and fl(k X[i] 2^-53) below 4
  const layers = 3.92 * 2 ** -53 + 2 ** -52;
  // tail: U1's relative 2^-52 grid, log (1 ulp of R (b - R)) and the division by R, the division's and the sum's roundings
  const tail = b <= R ? 0 : (2 ** -52 + below(R * (b - R))) / R + below(b - R) / 2 + below(b) / 2;
  return Math.max(layers, tail) + b * 2 ** -53; // and fl(t N)
}

/** A lower bound on P(|N| >= a) (Gordon's Mills-ratio bound): 2 phi(a) a / (1 + a^2). */
const twoSidedTailBelow = (a: number) => (2 * Math.exp(-0.5 * a * a) * a) / (Math.sqrt(2 * Math.PI) * (1 + a * a));

describe('the displacement table against the charge', () => {
  it('D(b) as derived step by step: 2.62 x 2^-50 at 8, 6.26 x 2^-50 at 16 (not 2 x 3: the logarithm passes 16 and 32)', () => {
    expect(displacement(8) / 2 ** -50).toBeCloseTo(2.616, 3);
    expect(displacement(12.4) / 2 ** -50).toBeLessThan(4.72);
    expect(displacement(12.42) / 2 ** -50).toBeGreaterThan(5.8);
    expect(displacement(16) / 2 ** -50).toBeCloseTo(6.258, 3);
    expect(displacement(40) / 2 ** -50).toBeCloseTo(21.83, 2);
  });

  it('every cell outside what tailMass can hold has its relative error within pmfError: 2 D(b) b / (1 - e^(-b/t)), the tail acceptance, the tables', () => {
    for (const scale of [0.3, 0.5, 1, 3, 128, 2 ** 12, 2 ** 17, 2 ** 23, 2 ** 24]) {
      const { pmfError, tailMass } = roundedNormalError(scale);
      for (let b = 0.25; b <= 42.25; b += 1 / 64) {
        // a cell [b - 1/t, b] whose ideal mass beyond its inner edge exceeds tailMass is not in the tail set
        if (!(twoSidedTailBelow(Math.max(1e-9, b - 1 / scale)) > tailMass)) continue;
        // the tail's acceptance test on the displaced a = b - R with rounded logarithms: a D(b) + (a^2 / 2) 2^-50
        const a = Math.max(0, b - 3.6541528853610088);
        const needed = (2 * displacement(b) * b) / -Math.expm1(-b / scale) + a * displacement(b) + a * a * 2 ** -51 + 1e-12;
        expect(pmfError, `scale ${scale}, cells up to ${b}`).toBeGreaterThanOrEqual(needed);
      }
    }
  });
});

describe('roundedNormalError', () => {
  it('bounds the mpmath cell-mass change under the charged displacement, at every scale, up to the tail set (16, or 40 below scale 1)', () => {
    for (const { scale, top, worst } of vectors.cells) {
      if (top !== (scale >= 1 ? 16 : 40)) continue;
      const { pmfError } = roundedNormalError(scale);
      expect(pmfError, `scale ${scale}`).toBeGreaterThanOrEqual(worst + 1e-12);
      // and tight where cells are narrow (a wide cell's mass is near f(a) / a, the bound's f(a) / (2 b))
      if (scale >= 1) expect(pmfError, `scale ${scale}`).toBeLessThan(1.1 * worst + 1.3e-12);
    }
  });

  it("charges the tail set's mpmath mass (times 1 + eta40 for the real sampler), tightly", () => {
    for (const { scale, mass } of vectors.tails) {
      const { tailMass } = roundedNormalError(scale);
      if (mass < 1e-300) {
        expect(tailMass, `scale ${scale}`).toBeLessThan(1e-300); // below the normal doubles: no ratio to check
        continue;
      }
      expect(tailMass, `scale ${scale}`).toBeGreaterThanOrEqual(mass * (1 + 1e-9));
      expect(tailMass, `scale ${scale}`).toBeLessThan(mass * 1.1); // Mills' ratio is within 1/a^2 of the tail
    }
  });

  it('puts the cells past 40 in the tail set below scale 1 (the tail sampler saturates at 41.29), with their mass', () => {
    // the acceptance test -ln U2 >= a^2 / 2 passes with probability 2^-1022 (not e^(-a^2/2)) once a^2 / 2 > 1022 ln 2
    const R = 3.6541528853610088;
    const saturation = R + Math.sqrt(2 * 1022 * Math.LN2);
    expect(saturation).toBeCloseTo(41.29, 2);
    // the saturated cells' real mass, R e^(-a R) 2^-1022 at a = saturation - R, in logs: far below the ideal bound at 40
    const logSaturated = Math.log(R) - R * (saturation - R) - 1022 * Math.LN2;
    const logIdealAt40 = Math.log(2 / (Math.sqrt(2 * Math.PI) * 40)) - 800;
    expect(logSaturated).toBeLessThan(logIdealAt40 - 40);
    // scale 0.3: cells of width 3.3 reach past 40 from 36.7, a mass that is still a double
    expect(roundedNormalError(0.3).tailMass).toBeGreaterThan(1e-294);
    expect(roundedNormalError(0.3).pmfError).toBeGreaterThanOrEqual(vectors.cells.find((c) => c.scale === 0.3 && c.top === 40)!.worst);
  });

  it('gives the secure lattice 3.13 x 2^-24 per coordinate at 24 bits (6.26x the unsound 2^-25 it replaces) and a tail below 1.3e-57', () => {
    expect(samplerSlack('gaussian', 1) / slackOf(2 ** -25)).toBeCloseTo(6.258, 3);
    expect(samplerSlack('gaussian', 1000)).toBeCloseTo(1000 * samplerSlack('gaussian', 1), 12);
    expect(samplerTailMass('gaussian', 1)).toBeLessThan(1.3e-57);
    expect(samplerTailMass('laplace', 1000)).toBe(0);
    // the lattice's scale t is in (2^(bits-1), 2^bits]: the slack at the largest, the tail at the smallest
    expect(gaussianSlackAt(17, 1) / slackOf(roundedNormalError(2 ** 17).pmfError) - 1).toBeLessThan(1e-15);
    expect(gaussianSlackAt(17, 1)).toBeGreaterThanOrEqual(slackOf(roundedNormalError(2 ** 17).pmfError));
    expect(gaussianTailAt(17, 1)).toBeGreaterThanOrEqual(roundedNormalError(2 ** 16).tailMass);
  });

  it("the 'wasm' discrete Gaussian doubles the proposal's error (renormalization) and covers restarts in the tail", () => {
    for (const sigma of [0.5, 2, 50, 6200]) {
      const proposal = roundedNormalError(sigma);
      const sample = wasmDiscreteGaussianError(sigma);
      expect(sample.pmfError).toBeGreaterThanOrEqual(2 * proposal.pmfError);
      expect(sample.tailMass).toBeGreaterThanOrEqual(proposal.tailMass);
      if (proposal.tailMass === 0) expect(sample.tailMass).toBe(0);
    }
  });
});

describe('the tail mass in the accountants: delta pays (1 + e^epsilon) T', () => {
  // a tail large enough to matter, so that a wrong charge shows
  const event = { noiseMultiplier: 1.1, sampleRate: 0.01, steps: 500, slack: 1e-6 };
  const T = 2e-9; // per step: 1e-6 in all

  it('RdpAccountant: getDelta adds (1 + e^epsilon) x steps x tailMass; getEpsilon returns an epsilon whose total delta fits', () => {
    const plain = new RdpAccountant().step(event);
    const tailed = new RdpAccountant().step({ ...event, tailMass: T });
    for (const epsilon of [0.5, 1, 2, 4]) {
      const expected = plain.getDelta(epsilon).delta + (1 + Math.exp(epsilon)) * 500 * T;
      expect(tailed.getDelta(epsilon).delta).toBeGreaterThanOrEqual(expected);
      expect(tailed.getDelta(epsilon).delta).toBeLessThan(expected * (1 + 1e-9));
    }
    for (const delta of [1e-5, 1e-4]) {
      const { epsilon } = tailed.getEpsilon(delta);
      expect(epsilon).toBeGreaterThan(plain.getEpsilon(delta).epsilon);
      expect(plain.getDelta(epsilon).delta + (1 + Math.exp(epsilon)) * 500 * T).toBeLessThanOrEqual(delta);
      // and not much more than needed: a slightly smaller epsilon would not fit
      expect(plain.getDelta(epsilon * 0.99).delta + (1 + Math.exp(epsilon * 0.99)) * 500 * T).toBeGreaterThan(delta);
    }
    // a delta below the tail's own cost: no epsilon
    expect(tailed.getEpsilon(1.5e-6).epsilon).toBe(Number.POSITIVE_INFINITY);
    // the tail survives serialization
    expect(RdpAccountant.fromJSON(JSON.stringify(tailed)).getEpsilon(1e-5)).toEqual(tailed.getEpsilon(1e-5));
  });

  it('PldAccountant (no slack): the same rule on top of min(PLD, RDP)', () => {
    const ideal = { noiseMultiplier: 1.1, sampleRate: 0.01, steps: 500 };
    const plain = new PldAccountant().step(ideal);
    const tailed = new PldAccountant().step({ ...ideal, tailMass: T });
    const { epsilon } = tailed.getEpsilon(1e-5);
    expect(epsilon).toBeGreaterThan(plain.getEpsilon(1e-5).epsilon);
    expect(plain.getDelta(epsilon).delta + (1 + Math.exp(epsilon)) * 500 * T).toBeLessThanOrEqual(1e-5);
    expect(tailed.getDelta(1).delta).toBeGreaterThanOrEqual(plain.getDelta(1).delta + (1 + Math.E) * 500 * T);
  });

  it('tailDelta computes (1 + e^epsilon) T in log space (no overflow while the product is a double)', () => {
    expect(tailDelta(2, 1e-20)).toBeCloseTo((1 + Math.exp(2)) * 1e-20, 30);
    expect(tailDelta(800, 1e-300)).toBeGreaterThan(1e-300 * Math.exp(400) * Math.exp(400) * 0.999);
    expect(tailDelta(800, 1e-300)).toBeLessThan(Number.POSITIVE_INFINITY);
    expect(tailDelta(3, 0)).toBe(0);
  });

  it('gaussianMechanism calibrates the ideal mechanism for delta less the tail (negligible at 24 bits, but charged)', () => {
    const m = gaussianMechanism({ epsilon: 1, delta: 1e-5, l2Sensitivity: 1, dimension: 100 });
    expect(m.sigma).toBeGreaterThan(0);
    // an epsilon whose e^epsilon T reaches delta is refused
    expect(() => gaussianMechanism({ epsilon: 700, delta: 1e-300, l2Sensitivity: 1 })).toThrow(/does not cover/);
  });
});
