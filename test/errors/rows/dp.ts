// Sweep rows of privkit/dp: generators, noise, exact samplers, secure lattice noise, calibration,
// mechanisms and bounded aggregates.
import * as dp from 'privkit/dp';
import {
  arrayOf,
  fn,
  instance,
  int,
  nonNegative,
  num,
  obj,
  oneOf,
  positive,
  probability,
  rngField,
  typed,
  union,
  type Row,
  type SweepRow,
} from '../sweep-harness.js';
import { dpWasm } from '../../../dist/src/dp/wasm.js';
import { seeded } from './fixtures.js';

const entry = 'privkit/dp';
const constants: SweepRow[] = ['MAX_DISCRETE_SCALE', 'MAX_DISCRETE_VALUE', 'MAX_NOISE_LENGTH', 'MAX_RECORDS', 'MAX_RNG_LENGTH', 'SECURE_GRANULARITY_BITS'].map((name) => ({
  entry,
  export: name,
  constant: true,
}));

const noiseOptions = obj({ rng: rngField(), dtype: oneOf(['float64', 'float32'], { optional: true }) }, { optional: true });
const rngOptions = obj({ rng: rngField() }, { optional: true });
const length = (max: number) => ({ name: 'length', domain: int(0, max) });

const rng: Row[] = [
  {
    entry,
    export: 'createRng',
    params: [{ name: 'opts', domain: obj({ seed: typed('Uint8Array', { optional: true }), stream: int(0, Number.MAX_SAFE_INTEGER, { optional: true }) }, { optional: true }) }],
    args: () => [{ seed: new Uint8Array(32).fill(3), stream: 5 }],
    call: ([o]) => dp.createRng(o),
    observe: (r: dp.Rng) => r.uint32(4),
  },
  ...(['bytes', 'uint32', 'uniform'] as const).map(
    (method): Row => ({
      entry,
      export: 'createRng',
      label: `Rng#${method}`,
      setup: () => seeded(),
      params: [{ name: 'n', domain: int(0, 2 ** 28) }],
      args: () => [5],
      call: ([n], r: dp.Rng) => r[method](n),
    }),
  ),
  {
    entry,
    export: 'createRng',
    label: 'Rng#fill',
    setup: () => seeded(),
    params: [{ name: 'out', domain: typed(['Uint8Array', 'Uint16Array', 'Uint32Array', 'Int32Array']) }],
    args: () => [new Uint32Array(4)],
    call: ([out], r: dp.Rng) => r.fill(out),
  },
  {
    entry,
    export: 'createRng',
    label: 'Rng#withGenerator',
    setup: () => seeded(),
    params: [
      { name: 'wasm', domain: instance('WasmModule') },
      { name: 'body', domain: fn() },
    ],
    args: () => [dpWasm, () => 7],
    call: ([wasm, body], r: dp.Rng) => r.withGenerator(wasm as never, body as () => number),
  },
];

const noise: Row[] = [
  ...(['gaussianNoise', 'laplaceNoise'] as const).map(
    (name): Row => ({
      entry,
      export: name,
      params: [length(dp.MAX_NOISE_LENGTH), { name: name === 'gaussianNoise' ? 'sigma' : 'scale', domain: positive() }, { name: 'opts', domain: noiseOptions }],
      args: () => [6, 1.5, { rng: seeded(), dtype: 'float32' }],
      call: ([n, s, o]) => dp[name](n, s, o),
    }),
  ),
  ...(['addGaussianNoise', 'addLaplaceNoise'] as const).map(
    (name): Row => ({
      entry,
      export: name,
      params: [{ name: 'x', domain: typed(['Float32Array', 'Float64Array']) }, { name: name === 'addGaussianNoise' ? 'sigma' : 'scale', domain: positive() }, { name: 'opts', domain: rngOptions }],
      args: () => [Float64Array.of(1, -2, 3.5), 0.5, { rng: seeded() }],
      call: ([x, s, o]) => dp[name](x, s, o),
    }),
  ),
  ...(['discreteLaplace', 'discreteGaussian'] as const).map(
    (name): Row => ({
      entry,
      export: name,
      params: [
        length(2 ** 28),
        { name: name === 'discreteLaplace' ? 'scale' : 'sigma', domain: positive({ max: 2 ** 24 }) },
        { name: 'opts', domain: name === 'discreteLaplace' ? rngOptions : obj({ rng: rngField(), method: oneOf(['exact', 'wasm'], { optional: true }) }, { optional: true }) },
      ],
      args: () => [5, 2.5, { rng: seeded() }],
      call: ([n, s, o]) => dp[name](n, s, o),
    }),
  ),
  {
    entry,
    export: 'bernoulliExp',
    params: [length(2 ** 28), { name: 'gamma', domain: nonNegative() }, { name: 'opts', domain: rngOptions }],
    args: () => [6, 0.75, { rng: seeded() }],
    call: ([n, g, o]) => dp.bernoulliExp(n, g, o),
  },
  {
    entry,
    export: 'uniformBelow',
    params: [length(2 ** 28), { name: 'bound', domain: int(1, 2 ** 53) }, { name: 'opts', domain: rngOptions }],
    args: () => [6, 1000, { rng: seeded() }],
    call: ([n, b, o]) => dp.uniformBelow(n, b, o),
  },
  ...(['secureLaplace', 'secureGaussian'] as const).map(
    (name): Row => ({
      entry,
      export: name,
      params: [{ name: 'values', domain: typed('Float64Array') }, { name: name === 'secureLaplace' ? 'scale' : 'sigma', domain: positive({ max: 2 ** 990 }) }, { name: 'opts', domain: rngOptions }],
      args: () => [Float64Array.of(1, 2.5, -3), 2, { rng: seeded() }],
      call: ([v, s, o]) => dp[name](v, s, o),
    }),
  ),
  ...(['laplaceResolution', 'gaussianResolution', 'secureValueBound'] as const).map(
    (name): Row => ({
      entry,
      export: name,
      params: [{ name: name === 'gaussianResolution' ? 'sigma' : 'scale', domain: positive({ max: 2 ** 990 }) }],
      args: () => [3],
      call: ([s]) => dp[name](s),
    }),
  ),
];

const calibration: Row[] = [
  ...(['analyticGaussianSigma', 'classicGaussianSigma'] as const).map(
    (name): Row => ({
      entry,
      export: name,
      params: [{ name: 'params', domain: obj({ epsilon: positive(), delta: probability(), l2Sensitivity: positive() }) }],
      args: () => [{ epsilon: 0.5, delta: 1e-5, l2Sensitivity: 2 }],
      call: ([p]) => dp[name](p),
    }),
  ),
  {
    entry,
    export: 'gaussianDelta',
    params: [{ name: 'sigma', domain: positive() }, { name: 'params', domain: obj({ epsilon: positive(), l2Sensitivity: positive() }) }],
    args: () => [3, { epsilon: 1, l2Sensitivity: 1 }],
    call: ([s, p]) => dp.gaussianDelta(s, p),
  },
  ...(['erfc', 'erfcx', 'normalCdf'] as const).map(
    (name): Row => ({
      entry,
      export: name,
      params: [{ name: 'x', domain: num({ infinite: true }) }],
      args: () => [0.75],
      call: ([x]) => dp[name](x),
    }),
  ),
];

const mechanismOptions = {
  laplace: obj({ epsilon: positive(), l1Sensitivity: positive(), dimension: int(1, 2 ** 31 - 1, { optional: true }), rng: rngField() }),
  gaussian: obj({ epsilon: positive(), delta: probability(), l2Sensitivity: positive(), dimension: int(1, 2 ** 31 - 1, { optional: true }), rng: rngField() }),
  discrete: obj({ sigma: positive({ optional: true, max: 2 ** 24 }), l2Sensitivity: positive(), rng: rngField() }),
};
const mechanisms: Row[] = [
  {
    entry,
    export: 'laplaceMechanism',
    params: [{ name: 'opts', domain: mechanismOptions.laplace }],
    args: () => [{ epsilon: 1, l1Sensitivity: 2, dimension: 3, rng: seeded() }],
    call: ([o]) => {
      const m = dp.laplaceMechanism(o);
      return { scale: m.scale, resolution: m.resolution, values: m.release(Float64Array.of(1, 2, 3)) };
    },
  },
  {
    entry,
    export: 'laplaceMechanism',
    label: 'LaplaceMechanism#release',
    setup: () => dp.laplaceMechanism({ epsilon: 1, l1Sensitivity: 2, dimension: 3, rng: seeded() }),
    params: [{ name: 'values', domain: typed('Float64Array') }],
    args: () => [Float64Array.of(1, 2, 3)],
    call: ([v], m: dp.LaplaceMechanism) => m.release(v),
  },
  {
    entry,
    export: 'gaussianMechanism',
    params: [{ name: 'opts', domain: mechanismOptions.gaussian }],
    args: () => [{ epsilon: 1, delta: 1e-6, l2Sensitivity: 2, dimension: 3, rng: seeded() }],
    call: ([o]) => {
      const m = dp.gaussianMechanism(o);
      return { sigma: m.sigma, resolution: m.resolution, values: m.release(Float64Array.of(1, 2, 3)) };
    },
  },
  {
    entry,
    export: 'gaussianMechanism',
    label: 'GaussianMechanism#release',
    setup: () => dp.gaussianMechanism({ epsilon: 1, delta: 1e-6, l2Sensitivity: 2, dimension: 3, rng: seeded() }),
    params: [{ name: 'values', domain: typed('Float64Array') }],
    args: () => [Float64Array.of(1, 2, 3)],
    call: ([v], m: dp.GaussianMechanism) => m.release(v),
  },
  {
    entry,
    export: 'discreteGaussianMechanism',
    params: [{ name: 'opts', domain: mechanismOptions.discrete }],
    args: () => [{ sigma: 2.5, l2Sensitivity: 1, rng: seeded() }],
    call: ([o]) => {
      const m = dp.discreteGaussianMechanism(o);
      return { sigma: m.sigma, rho: m.rho, values: m.release(Int32Array.of(1, 2, 3)) };
    },
  },
  {
    entry,
    export: 'discreteGaussianMechanism',
    label: 'discreteGaussianMechanism rho',
    aliases: { 'opts.rho': ['sigma'] },
    params: [{ name: 'opts', domain: obj({ rho: positive(), l2Sensitivity: positive(), rng: rngField() }) }],
    args: () => [{ rho: 0.5, l2Sensitivity: 1, rng: seeded() }],
    call: ([o]) => dp.discreteGaussianMechanism(o).sigma,
  },
  {
    entry,
    export: 'discreteGaussianMechanism',
    label: 'DiscreteGaussianMechanism#release',
    setup: () => dp.discreteGaussianMechanism({ sigma: 2.5, l2Sensitivity: 1, rng: seeded() }),
    params: [{ name: 'values', domain: typed('Int32Array') }],
    args: () => [Int32Array.of(1, 2, 3)],
    call: ([v], m: dp.DiscreteGaussianMechanism) => m.release(v),
  },
];

const records = { name: 'records', domain: typed('Float64Array') };
const aggregates: Row[] = [
  {
    entry,
    export: 'exactSum',
    params: [{ name: 'values', domain: arrayOf(num(), { arrayLike: true }) }],
    args: () => [[1e16, 1, -1e16, 0.5]],
    call: ([v]) => dp.exactSum(v),
  },
  {
    entry,
    export: 'dpCount',
    params: [{ name: 'records', domain: union([typed('Float64Array'), int(0, 2 ** 32 - 1)]) }, { name: 'opts', domain: obj({ epsilon: positive(), rng: rngField() }) }],
    args: () => [Float64Array.of(1, 2, 3), { epsilon: 1, rng: seeded() }],
    call: ([r, o]) => dp.dpCount(r, o),
  },
  ...(['dpSum', 'dpMean'] as const).map(
    (name): Row => ({
      entry,
      export: name,
      params: [records, { name: 'opts', domain: obj({ epsilon: positive(), lower: num({ min: -(2 ** 960), max: 2 ** 960 }), upper: num({ min: -(2 ** 960), max: 2 ** 960 }), rng: rngField() }) }],
      args: () => [Float64Array.of(1, 2, 30), { epsilon: 1, lower: 0, upper: 10, rng: seeded() }],
      call: ([r, o]) => dp[name](r, o),
    }),
  ),
  {
    entry,
    export: 'dpHistogram',
    params: [
      records,
      {
        name: 'opts',
        domain: obj({
          epsilon: positive(),
          bins: int(1, 2 ** 24, { optional: true }),
          lower: num({ optional: true, min: -(2 ** 960), max: 2 ** 960 }),
          upper: num({ optional: true, min: -(2 ** 960), max: 2 ** 960 }),
          noise: oneOf(['laplace', 'gaussian'], { optional: true }),
          delta: probability({ optional: true }),
          rng: rngField(),
        }),
      },
    ],
    args: () => [Float64Array.of(1, 2, 3, 7), { epsilon: 1, bins: 4, lower: 0, upper: 8, noise: 'gaussian', delta: 1e-6, rng: seeded() }],
    call: ([r, o]) => dp.dpHistogram(r, o),
  },
  {
    entry,
    export: 'dpHistogram',
    label: 'dpHistogram edges',
    params: [records, { name: 'opts', domain: obj({ epsilon: positive(), edges: union([typed('Float64Array'), arrayOf(num())]), rng: rngField() }) }],
    args: () => [Float64Array.of(1, 2, 3, 7), { epsilon: 1, edges: [0, 2, 5, 8], rng: seeded() }],
    call: ([r, o]) => dp.dpHistogram(r, o),
  },
];

const selection: Row[] = [
  {
    entry,
    export: 'exponentialMechanism',
    params: [
      { name: 'scores', domain: arrayOf(num(), { arrayLike: true }) },
      {
        name: 'opts',
        domain: obj({
          epsilon: positive(),
          sensitivity: positive({ optional: true }),
          baseMeasure: arrayOf(nonNegative(), { arrayLike: true, optional: true }),
          rng: rngField(),
        }),
      },
    ],
    args: () => [[3, 1, 2], { epsilon: 1, sensitivity: 2, baseMeasure: [1, 0.5, 2], rng: seeded() }],
    call: ([s, o]) => dp.exponentialMechanism(s, o),
  },
];

export const dpRows: SweepRow[] = [...constants, ...rng, ...noise, ...calibration, ...mechanisms, ...aggregates, ...selection];
