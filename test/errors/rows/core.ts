// Sweep rows of the kernels (privkit) and of their plain-TypeScript references (privkit/reference).
import * as pk from 'privkit';
import * as ref from 'privkit/reference';
import { arrayOf, bool, fn, int, num, obj, oneOf, positive, str, typed, union, type Row, type SweepRow } from '../sweep-harness.js';
import { matrix, seedBytes } from './fixtures.js';

const x = { name: 'x', domain: typed('Float32Array') };
const rows = { name: 'rows', domain: int(1) };
const clipOptions = obj({ inPlace: bool({ optional: true }), out: typed('Float32Array', { optional: true }) }, { optional: true });
const sizes = arrayOf(int(0), { arrayLike: true });
const bounds = union([positive(), arrayOf(positive(), { arrayLike: true })]);

const kernels: Row[] = [
  { entry: 'privkit', export: 'ready', params: [], args: () => [], call: () => pk.ready() },
  {
    entry: 'privkit',
    export: 'PrivkitError',
    label: 'new PrivkitError',
    params: [
      { name: 'code', domain: oneOf(['E_ARG', 'E_SHAPE', 'E_NONFINITE', 'E_OVERFLOW', 'E_NOT_READY', 'E_WASM', 'E_WORKER', 'E_BUDGET', 'E_PROTOCOL', 'E_AUTH', 'E_THRESHOLD']) },
      { name: 'message', domain: str() },
      { name: 'details', domain: obj({ argument: str(256, { optional: true }), index: int(0, Number.MAX_SAFE_INTEGER, { optional: true }) }, { optional: true }) },
    ],
    args: () => ['E_ARG', 'x is bad', { argument: 'x', index: 2 }],
    call: ([code, message, details]) => new pk.PrivkitError(code, message, details),
    observe: (e: pk.PrivkitError) => ({ code: e.code, message: e.message, argument: e.argument, index: e.index }),
  },
  { entry: 'privkit', export: 'l2Norms', params: [x, rows], args: () => [matrix(), 2], call: ([a, r]) => pk.l2Norms(a, r) },
  {
    entry: 'privkit',
    export: 'clipByL2',
    params: [x, rows, { name: 'maxNorm', domain: positive() }, { name: 'opts', domain: clipOptions }],
    args: () => [matrix(), 2, 1, { inPlace: false }],
    call: ([a, r, c, o]) => pk.clipByL2(a, r, c, o),
  },
  {
    entry: 'privkit',
    export: 'clipByL2',
    label: 'clipByL2 opts.out',
    params: [x, rows, { name: 'maxNorm', domain: positive() }, { name: 'opts', domain: clipOptions }],
    args: () => [matrix(), 2, 1, { out: new Float32Array(6) }],
    call: ([a, r, c, o]) => pk.clipByL2(a, r, c, o),
  },
  {
    entry: 'privkit',
    export: 'clipPerLayer',
    params: [x, rows, { name: 'layerSizes', domain: sizes }, { name: 'maxNorms', domain: bounds }, { name: 'opts', domain: clipOptions }],
    args: () => [matrix(), 2, [2, 1], [1, 0.5], { out: new Float32Array(6) }],
    call: ([a, r, s, b, o]) => pk.clipPerLayer(a, r, s, b, o),
  },
  {
    entry: 'privkit',
    export: 'clipAndSum',
    params: [
      x,
      { name: 'rows', domain: int(0) },
      { name: 'maxNorm', domain: bounds },
      { name: 'opts', domain: obj({ layerSizes: { ...sizes, optional: true }, columns: int(1, 2 ** 31 - 1, { optional: true }) }, { optional: true }) },
    ],
    args: () => [matrix(), 2, [1, 2], { layerSizes: [1, 2], columns: 3 }],
    call: ([a, r, c, o]) => pk.clipAndSum(a, r, c, o),
  },
  {
    entry: 'privkit',
    export: 'clipValues',
    params: [x, { name: 'min', domain: num() }, { name: 'max', domain: num() }, { name: 'opts', domain: clipOptions }],
    args: () => [matrix(), 0.15, 3.5, { out: new Float32Array(6) }],
    call: ([a, lo, hi, o]) => pk.clipValues(a, lo, hi, o),
  },
  { entry: 'privkit', export: 'sum', params: [x, rows], args: () => [matrix(), 2], call: ([a, r]) => pk.sum(a, r) },
  { entry: 'privkit', export: 'mean', params: [x, rows], args: () => [matrix(), 2], call: ([a, r]) => pk.mean(a, r) },
  {
    entry: 'privkit',
    export: 'weightedMean',
    params: [x, rows, { name: 'weights', domain: arrayOf(num({ min: 0 }), { arrayLike: true }) }],
    args: () => [matrix(), 2, [1, 3]],
    call: ([a, r, w]) => pk.weightedMean(a, r, w),
  },
];

const seed = { name: 'seed', domain: typed('Uint8Array') };
const references: Row[] = [
  { entry: 'privkit/reference', export: 'l2Norms', params: [x, rows], args: () => [matrix(), 2], call: ([a, r]) => ref.l2Norms(a, r) },
  {
    entry: 'privkit/reference',
    export: 'clipLayers',
    params: [x, rows, { name: 'layerSizes', domain: arrayOf(int(0)) }, { name: 'maxNorms', domain: arrayOf(positive()) }],
    args: () => [matrix(), 2, [2, 1], [1, 0.5]],
    call: ([a, r, s, b]) => ref.clipLayers(a, r, s, b),
  },
  { entry: 'privkit/reference', export: 'clipByL2', params: [x, rows, { name: 'maxNorm', domain: positive() }], args: () => [matrix(), 2, 1], call: ([a, r, c]) => ref.clipByL2(a, r, c) },
  { entry: 'privkit/reference', export: 'clipAndSum', params: [x, rows, { name: 'maxNorm', domain: positive() }], args: () => [matrix(), 2, 1], call: ([a, r, c]) => ref.clipAndSum(a, r, c) },
  {
    entry: 'privkit/reference',
    export: 'clipValues',
    params: [x, { name: 'min', domain: num() }, { name: 'max', domain: num() }],
    args: () => [matrix(), 0.15, 3.5],
    call: ([a, lo, hi]) => ref.clipValues(a, lo, hi),
  },
  {
    entry: 'privkit/reference',
    export: 'weightedMean',
    params: [x, rows, { name: 'weights', domain: arrayOf(num({ min: 0 }), { arrayLike: true }) }],
    args: () => [matrix(), 2, [1, 3]],
    call: ([a, r, w]) => ref.weightedMean(a, r, w),
  },
  { entry: 'privkit/reference', export: 'sum', params: [x, rows], args: () => [matrix(), 2], call: ([a, r]) => ref.sum(a, r) },
  { entry: 'privkit/reference', export: 'mean', params: [x, rows], args: () => [matrix(), 2], call: ([a, r]) => ref.mean(a, r) },
  {
    entry: 'privkit/reference',
    export: 'chachaBlock',
    params: [{ name: 'key', domain: typed('Uint8Array') }, { name: 'counter', domain: int(0, 2 ** 32 - 1) }, { name: 'nonce', domain: typed('Uint8Array') }],
    args: () => [seedBytes(), 1, new Uint8Array(12).fill(3)],
    call: ([k, c, n]) => ref.chachaBlock(k, c, n),
  },
  {
    entry: 'privkit/reference',
    export: 'uniformFromWords',
    params: [{ name: 'words', domain: typed('Uint32Array') }, { name: 'n', domain: int(0, 2 ** 28) }],
    args: () => [Uint32Array.of(1, 2, 3, 4, 5, 6), 3],
    call: ([w, n]) => ref.uniformFromWords(w, n),
  },
  { entry: 'privkit/reference', export: 'sha256', params: [{ name: 'message', domain: typed('Uint8Array') }], args: () => [seedBytes()], call: ([m]) => ref.sha256(m) },
  {
    entry: 'privkit/reference',
    export: 'hmacSha256',
    params: [{ name: 'key', domain: typed('Uint8Array') }, { name: 'message', domain: typed('Uint8Array') }],
    args: () => [seedBytes(), new Uint8Array(40).fill(7)],
    call: ([k, m]) => ref.hmacSha256(k, m),
  },
  {
    entry: 'privkit/reference',
    export: 'hmacSha256KeyStates',
    params: [{ name: 'key', domain: typed('Uint8Array') }],
    args: () => [seedBytes()],
    call: ([k]) => ref.hmacSha256KeyStates(k),
  },
  {
    entry: 'privkit/reference',
    export: 'rotationSigns',
    params: [seed, { name: 'd', domain: int(0, 2 ** 24) }],
    args: () => [seedBytes(), 8],
    call: ([s, d]) => ref.rotationSigns(s, d),
  },
  { entry: 'privkit/reference', export: 'randomizedHadamard', params: [x, seed], args: () => [matrix(), seedBytes()], call: ([a, s]) => ref.randomizedHadamard(a, s) },
  {
    entry: 'privkit/reference',
    export: 'inverseRandomizedHadamard',
    params: [{ name: 'y', domain: typed('Float32Array') }, seed, { name: 'length', domain: int(0, 8) }],
    args: () => [Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), seedBytes(), 6],
    call: ([y, s, n]) => ref.inverseRandomizedHadamard(y, s, n),
  },
  {
    entry: 'privkit/reference',
    export: 'quantize',
    params: [
      x,
      {
        name: 'opts',
        domain: obj({
          scale: positive(),
          bits: int(1, 32),
          uniforms: arrayOf(num({ min: 0, below: 1 }), { arrayLike: true, optional: true }),
          words: arrayOf(int(0, 255), { arrayLike: true, optional: true }),
          tieUniforms: arrayOf(num({ min: 0, below: 1 }), { arrayLike: true, optional: true }),
          noise: arrayOf(int(-(2 ** 31), 2 ** 31), { arrayLike: true, optional: true }),
        }),
      },
    ],
    args: () => [matrix(), { scale: 4, bits: 16, uniforms: [0.1, 0.9, 0.5, 0.2, 0.3, 0.7], noise: [1, -1, 0, 2, 0, 0] }],
    call: ([a, o]) => ref.quantize(a, o),
  },
  {
    entry: 'privkit/reference',
    export: 'dequantize',
    params: [{ name: 'sum', domain: typed('Uint32Array') }, { name: 'opts', domain: obj({ scale: positive(), bits: int(1, 32) }) }],
    args: () => [Uint32Array.of(1, 65535, 300), { scale: 4, bits: 16 }],
    call: ([s, o]) => ref.dequantize(s, o),
  },
  {
    entry: 'privkit/reference',
    export: 'discreteGaussianAcceptance',
    params: [{ name: 'sigma', domain: positive({ max: 2 ** 24 }) }, { name: 'k', domain: int(-Number.MAX_SAFE_INTEGER) }],
    args: () => [3.5, 2],
    call: ([s, k]) => ref.discreteGaussianAcceptance(s, k),
  },
  {
    entry: 'privkit/reference',
    export: 'discreteGaussianFromKeystream',
    params: [{ name: 'n', domain: int(0, 2 ** 20) }, { name: 'sigma', domain: positive({ max: 2 ** 24 }) }, { name: 'source', domain: obj({ bytes: fn(), uniform: fn() }) }],
    args: () => [4, 3.5, keystream()],
    call: ([n, s, src]) => ref.discreteGaussianFromKeystream(n, s, src),
  },
  {
    entry: 'privkit/reference',
    export: 'discreteGaussianBlockSampler',
    params: [{ name: 'sigma', domain: positive({ max: 2 ** 24 }) }, { name: 'source', domain: obj({ bytes: fn(), uniform: fn() }) }],
    args: () => [3.5, keystream()],
    call: ([s, src]) => {
      const sample = ref.discreteGaussianBlockSampler(s, src);
      return [sample(0x12345678, 17), sample(0x7fffffff, 200)];
    },
  },
  {
    entry: 'privkit/reference',
    export: 'secureLaplaceTable',
    params: [{ name: 't', domain: num({ min: 1, max: 2 ** 24 }) }, { name: 'mBits', domain: int(0, 23) }],
    args: () => [2 ** 23 + 5, 22],
    call: ([t, m]) => ref.secureLaplaceTable(t, m),
  },
  {
    entry: 'privkit/reference',
    export: 'secureLaplaceFromKeystream',
    params: [
      { name: 'values', domain: typed('Float64Array') },
      { name: 'r', domain: positive() },
      { name: 't', domain: num({ min: 1, max: 2 ** 24 }) },
      { name: 'mBits', domain: int(0, 23) },
      { name: 'source', domain: obj({ bytes: fn(), uniform: fn() }) },
    ],
    // t above 2^23 so that every mBits of the domain (0..23) is valid; one value: with mBits = 0 a
    // sample walks ~t / 16 blocks of its table (~0.45 s here), kept well below the sweep's 3 s slow-call limit
    args: () => [Float64Array.of(2.5), 2 ** -20, 2 ** 23 + 5, 22, keystream()],
    call: ([v, r, t, m, src]) => ref.secureLaplaceFromKeystream(v, r, t, m, src),
  },
];

/** A deterministic keystream source for the reference samplers (ChaCha20 blocks of a fixed key). */
function keystream(): { bytes(n: number): Uint8Array; uniform(): number } {
  let counter = 0;
  let buffer = new Uint8Array(0);
  const take = (n: number): Uint8Array => {
    while (buffer.length < n) {
      const block = ref.chachaBlock(seedBytes(5), counter++, new Uint8Array(12));
      const next = new Uint8Array(buffer.length + 64);
      next.set(buffer);
      next.set(block, buffer.length);
      buffer = next;
    }
    const out = buffer.slice(0, n);
    buffer = buffer.slice(n);
    return out;
  };
  return {
    bytes: take,
    uniform: () => {
      const b = take(8);
      return (((b[0]! & 0x1f) * 2 ** 48 + b[1]! * 2 ** 40 + b[2]! * 2 ** 32 + new DataView(b.buffer).getUint32(4)) + 0.5) * 2 ** -53;
    },
  };
}

export const coreRows: SweepRow[] = [{ entry: 'privkit', export: 'MAX_LAYERS', constant: true }, ...kernels, ...references];
