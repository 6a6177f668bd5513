// Sweep rows of privkit/pool: createPool and every public Pool operation on a shared 2-thread pool.
import * as pool from 'privkit/pool';
import * as fl from 'privkit/fl';
import { arrayOf, bool, fn, instance, int, num, obj, oneOf, opaque, positive, str, typed, union, type Row, type SweepRow } from '../sweep-harness.js';
import { matrix } from './fixtures.js';
import { paillierEnv } from './paillier.js';

const entry = 'privkit/pool';
let shared: pool.Pool | undefined;

/** The shared pool of the rows (created once; closeSweepPool ends it). */
export async function sweepPool(): Promise<pool.Pool> {
  shared ??= await pool.createPool({ threads: 2 });
  return shared;
}
export async function closeSweepPool(): Promise<void> {
  await shared?.close();
  shared = undefined;
}
const p = (): pool.Pool => {
  if (shared === undefined) throw new Error('sweepPool() not awaited');
  return shared;
};

const x = { name: 'x', domain: typed('Float32Array') };
const rows = { name: 'rows', domain: int(1) };
/** Cancellation and progress, in every operation's options (CallOptions). */
const callFields = { signal: instance('AbortSignal', { optional: true }), onProgress: fn({ optional: true }) };
const callParam = { name: 'opts', domain: obj(callFields, { optional: true }) };
const call = () => ({ signal: new AbortController().signal, onProgress: () => undefined });
const clipOptions = obj({ inPlace: bool({ optional: true }), out: typed('Float32Array', { optional: true }), ...callFields }, { optional: true });
const bounds = union([positive(), arrayOf(positive(), { arrayLike: true })]);

const operations: Row[] = ([
  { label: 'l2Norms', params: [x, rows, callParam], args: () => [matrix(), 2, call()], call: ([a, r, o]: any[]) => p().l2Norms(a, r, o) },
  { label: 'clipByL2', params: [x, rows, { name: 'maxNorm', domain: positive() }, { name: 'opts', domain: clipOptions }], args: () => [matrix(), 2, 1, { out: new Float32Array(6), ...call() }], call: ([a, r, c, o]: any[]) => p().clipByL2(a, r, c, o) },
  {
    label: 'clipPerLayer',
    params: [x, rows, { name: 'layerSizes', domain: arrayOf(int(0), { arrayLike: true }) }, { name: 'maxNorms', domain: bounds }, { name: 'opts', domain: clipOptions }],
    args: () => [matrix(), 2, [2, 1], [1, 0.5], {}],
    call: ([a, r, s, b, o]: any[]) => p().clipPerLayer(a, r, s, b, o),
  },
  {
    label: 'clipAndSum',
    params: [x, { name: 'rows', domain: int(0) }, { name: 'maxNorm', domain: bounds }, { name: 'opts', domain: obj({ layerSizes: arrayOf(int(0), { arrayLike: true, optional: true }), columns: int(1, 2 ** 31 - 1, { optional: true }), ...callFields }, { optional: true }) }],
    args: () => [matrix(), 2, 1, { columns: 3, ...call() }],
    call: ([a, r, c, o]: any[]) => p().clipAndSum(a, r, c, o),
  },
  { label: 'clipValues', params: [x, { name: 'min', domain: num() }, { name: 'max', domain: num() }, { name: 'opts', domain: clipOptions }], args: () => [matrix(), 0.15, 3.5, {}], call: ([a, lo, hi, o]: any[]) => p().clipValues(a, lo, hi, o) },
  { label: 'sum', params: [x, rows, callParam], args: () => [matrix(), 2, call()], call: ([a, r, o]: any[]) => p().sum(a, r, o) },
  { label: 'mean', params: [x, rows, callParam], args: () => [matrix(), 2, call()], call: ([a, r, o]: any[]) => p().mean(a, r, o) },
  {
    label: 'weightedMean',
    params: [x, rows, { name: 'weights', domain: arrayOf(num({ min: 0 }), { arrayLike: true }) }, callParam],
    args: () => [matrix(), 2, [1, 3], call()],
    call: ([a, r, w, o]: any[]) => p().weightedMean(a, r, w, o),
  },
  ...(['gaussianNoise', 'laplaceNoise'] as const).map((name) => ({
    label: name,
    params: [{ name: 'length', domain: int(0, 2 ** 28) }, { name: name === 'gaussianNoise' ? 'sigma' : 'scale', domain: positive() }, { name: 'opts', domain: obj({ dtype: oneOf(['float64', 'float32'], { optional: true }), ...callFields }, { optional: true }) }],
    args: () => [6, 1.5, { dtype: 'float32', ...call() }],
    call: ([n, s, o]: any[]) => p()[name](n, s, o),
    random: 'pool workers draw from their own CSPRNGs',
  })),
  ...(['addGaussianNoise', 'addLaplaceNoise'] as const).map((name) => ({
    label: name,
    params: [{ name: 'x', domain: typed(['Float32Array', 'Float64Array']) }, { name: name === 'addGaussianNoise' ? 'sigma' : 'scale', domain: positive() }, callParam],
    args: () => [Float64Array.of(1, -2, 3.5), 0.5, call()],
    call: ([a, s, o]: any[]) => p()[name](a, s, o),
    random: 'pool workers draw from their own CSPRNGs',
  })),
  {
    label: 'encryptVector',
    setup: paillierEnv,
    params: [{ name: 'publicKey', domain: instance('PublicKey') }, { name: 'x', domain: typed('Float32Array') }, { name: 'opts', domain: obj({ scale: positive(), clip: positive(), maxAdditions: int(1), ...callFields }) }],
    args: (env: Awaited<ReturnType<typeof paillierEnv>>) => [env.publicKey, Float32Array.of(0.5, -1, 2), { scale: 16, clip: 4, maxAdditions: 4, ...call() }],
    call: ([k, a, o]: any[]) => p().encryptVector(k, a, o),
    observe: (v: any, _args: unknown, env: Awaited<ReturnType<typeof paillierEnv>>) => env.privateKey.decryptVector(v),
  },
  {
    label: 'decryptVector',
    setup: paillierEnv,
    params: [{ name: 'privateKey', domain: instance('PrivateKey') }, { name: 'v', domain: obj({ publicKey: instance('PublicKey'), length: int(0), count: int(1), ciphertexts: arrayOf(instance('Ciphertext')) }) }, callParam],
    args: (env: Awaited<ReturnType<typeof paillierEnv>>) => [env.privateKey, env.publicKey.encryptVector(Float32Array.of(0.5, -1, 2), { scale: 16, clip: 4, maxAdditions: 4 }), call()],
    call: ([k, v, o]: any[]) => p().decryptVector(k, v, o),
  },
  {
    label: 'localUpdates',
    setup: () => fl.createModel({ type: 'softmax-regression', inputs: 4, classes: 2 }),
    params: [
      { name: 'model', domain: instance('Model') },
      { name: 'params', domain: typed('Float32Array') },
      { name: 'clients', domain: arrayOf(obj({ images: typed('Float32Array'), labels: typed('Uint8Array'), seed: typed('Uint8Array', { optional: true }) })) },
      { name: 'opts', domain: obj({ epochs: int(1, 1000), batchSize: int(1), learningRate: positive(), ...callFields }) },
    ],
    args: (m: fl.Model) => [m, new Float32Array(10), [{ images: Float32Array.of(1, 0, 0, 1, 0, 1, 1, 0), labels: Uint8Array.of(0, 1), seed: new Uint8Array(32).fill(2) }], { epochs: 1, batchSize: 2, learningRate: 0.5, ...call() }],
    call: ([m, w, c, o]: any[]) => p().localUpdates(m, w, c, o),
  },
  {
    label: 'auditSamples',
    params: [
      { name: 'mechanism', domain: obj({ module: str(), export: str() }) },
      { name: 'inputs', domain: arrayOf(opaque('given to the mechanism')) },
      { name: 'trials', domain: int(1, 1 << 24) },
      callParam,
    ],
    // the built privkit/dp, by absolute URL (each worker imports it)
    args: () => [{ module: new URL('../../../dist/src/dp/index.js', import.meta.url).href, export: 'normalCdf' }, [0, 1], 4, call()],
    call: ([m, i, t, o]: any[]) => p().auditSamples(m, i, t, o),
  },
] as Array<Omit<Row, 'entry' | 'export'>>).map((row): Row => ({ entry, export: 'Pool', ...row, label: `Pool#${row.label}` }));

export const poolRows: SweepRow[] = [
  { entry, export: 'MAX_POOL_THREADS', constant: true },
  {
    entry,
    export: 'createPool',
    params: [{ name: 'opts', domain: obj({ threads: int(1, pool.MAX_POOL_THREADS, { optional: true }), workerUrl: union([str(8192), instance('URL')], { optional: true }) }, { optional: true }) }],
    args: () => [{ threads: 1, workerUrl: new URL('../../../dist/src/pool/worker.js', import.meta.url) }],
    call: async ([o]) => {
      const created = await pool.createPool(o);
      const threads = created.threads;
      await created.close();
      return threads;
    },
  },
  {
    entry,
    export: 'Pool',
    label: 'new Pool',
    params: [{ name: 'threads', domain: int(1, pool.MAX_POOL_THREADS) }],
    args: () => [1],
    call: async ([t]) => {
      const created = new pool.Pool(t);
      await created.started();
      const threads = created.threads;
      await created.close();
      return threads;
    },
  },
  ...operations,
  {
    entry,
    export: 'sharedFloat32Array',
    params: [{ name: 'length', domain: int(0, 2 ** 28) }],
    args: () => [5],
    call: ([n]) => pool.sharedFloat32Array(n),
  },
  {
    entry,
    export: 'sharedFloat64Array',
    params: [{ name: 'length', domain: int(0, 2 ** 28) }],
    args: () => [5],
    call: ([n]) => pool.sharedFloat64Array(n),
  },
];
