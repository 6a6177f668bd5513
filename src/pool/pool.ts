// The worker pool: the sync kernels as async operations spread over worker threads.
// Rows (elements, for element-wise operations and noise) are split into one contiguous part per
// worker; partial results (norm lists, partial sums) are merged here. Where the runtime has
// SharedArrayBuffer (Node; cross-origin-isolated pages), workers read shared inputs in place and
// plain inputs from one copy in reusable shared staging memory, and write outputs into shared
// memory; elsewhere each worker gets a transferred copy of its part and sends its result back.
import * as Comlink from 'comlink';
import { canShareMemory, defaultThreads, spawnKernelWorker } from '#platform';
import { PrivkitError, type PrivkitErrorCode } from '../errors.js';
import {
  assertClampBounds,
  clipLayers,
  layerPlan,
  readLayerArguments,
  resultTarget,
  type ClipAndSumResult,
  type ClipOptions,
  type Layer,
  type ClipAndSumOptions,
} from '../kernels/clip.js';
import { normalizeWeights, readWeights } from '../kernels/reduce.js';
import {
  assertNoiseTarget,
  noiseDtype,
  noiseOptions,
  noiseLength,
  noiseScale,
  type NoiseDtype,
  type NoiseKind,
} from '../dp/noise.js';
import { checkMechanismModule, concatSamples, type MechanismModule, type Samples } from '../audit/sampling.js';
import { checkClientTasks, checkLocalOptions, checkModel, type ClientTask, type LocalTrainingOptions } from '../fl/local.js';
import type { Model } from '../fl/model.js';
import { MAX_PRECOMPUTE, type Ciphertext, type PrivateKey, type PublicKey } from '../paillier/keys.js';
import { checkEncryptedVector, packVector, unpackVector, type EncryptedVector, type PackingOptions } from '../paillier/packing.js';
import { assertFloat32Array, assertInteger, batchColumns, matrixColumns, readOptions, type FloatArray } from '../validate.js';
import { copyIn, copyOut, currentLength, isSharedArray, region } from '../wasm/boundary.js';
import type { SpawnedWorker } from '../platform/types.js';
import type { KernelWorkerApi } from '../../workers/kernel-worker.js';

export interface PoolOptions {
  /** Number of worker threads, 1 to MAX_POOL_THREADS (default: the number of cores, at most MAX_POOL_THREADS). */
  threads?: number;
}

/** Most worker threads a pool takes (256). */
export const MAX_POOL_THREADS = 256;

/** Options of the pooled noise samplers: as the sync ones, without `rng` (a generator can not cross threads). */
export interface PoolNoiseOptions {
  /** Element type of the result; default 'float64'. */
  dtype?: NoiseDtype;
}

type Api = Comlink.Remote<KernelWorkerApi>;
/** Float32Array or Float64Array (the constructor). */
interface FloatType {
  new (length: number): FloatArray;
  new (buffer: SharedArrayBuffer, byteOffset: number, length: number): FloatArray;
  readonly BYTES_PER_ELEMENT: number;
}

const MAX_SPARE_STAGING = 4;

interface Slot {
  spawned: SpawnedWorker;
  api: Api;
  started: Promise<void>;
  /** Rejecters of the calls in flight on this worker, run if it crashes. */
  inFlight: Set<(error: PrivkitError) => void>;
}

/** A contiguous range of rows handed to one worker. */
interface Part {
  row: number;
  rows: number;
}

export async function createPool(opts: PoolOptions = {}): Promise<Pool> {
  const { threads } = readOptions(opts, ['threads']);
  const pool = new Pool(threads ?? Math.min(defaultThreads(), MAX_POOL_THREADS));
  try {
    await pool.started();
  } catch (error) {
    await pool.close();
    throw error;
  }
  return pool;
}

export class Pool {
  private readonly slots: Slot[] = [];
  private readonly spareStaging: SharedArrayBuffer[] = [];
  private closed = false;

  readonly threads: number;

  /** Starts `threads` workers; `createPool` also waits until they are ready. */
  constructor(threads: number) {
    this.threads = assertInteger('threads', threads, 1);
    if (this.threads > MAX_POOL_THREADS) {
      throw new PrivkitError('E_ARG', `threads must be at most ${MAX_POOL_THREADS}, got ${this.threads}`, { argument: 'threads' });
    }
    for (let i = 0; i < this.threads; i++) this.slots.push(this.spawn(i));
  }

  /** Resolves when every worker has instantiated its wasm engine. */
  async started(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.started));
  }

  async l2Norms(x: Float32Array, rows: number): Promise<Float32Array> {
    const cols = matrixColumns(x, rows);
    const norms = await this.map(x, rows, cols, (api, part, input) => api.l2Norms(input, part.rows));
    return concat(norms, rows);
  }

  async clipByL2(x: Float32Array, rows: number, maxNorm: number, opts: ClipOptions = {}): Promise<Float32Array> {
    const options = readOptions(opts, ['inPlace', 'out']);
    const cols = matrixColumns(x, rows);
    return this.clipInto(x, rows, cols, clipLayers(cols, maxNorm), options);
  }

  async clipPerLayer(
    x: Float32Array,
    rows: number,
    layerSizes: ArrayLike<number>,
    maxNorms: number | ArrayLike<number>,
    opts: ClipOptions = {},
  ): Promise<Float32Array> {
    const options = readOptions(opts, ['inPlace', 'out']);
    const { sizes, bounds } = readLayerArguments(layerSizes, maxNorms, 'maxNorms');
    const cols = matrixColumns(x, rows);
    return this.clipInto(x, rows, cols, layerPlan(cols, sizes, bounds, 'maxNorms'), options);
  }

  async clipAndSum(
    x: Float32Array,
    rows: number,
    maxNorm: number | ArrayLike<number>,
    opts: ClipAndSumOptions = {},
  ): Promise<ClipAndSumResult> {
    const { columns, layerSizes } = readOptions(opts, ['columns', 'layerSizes']);
    const layerArguments = layerSizes === undefined ? undefined : readLayerArguments(layerSizes, maxNorm, 'maxNorm');
    const cols = batchColumns(x, rows, columns);
    const layers = layerArguments === undefined ? clipLayers(cols, maxNorm) : layerPlan(cols, layerArguments.sizes, layerArguments.bounds);
    if (rows === 0) return { sum: new Float32Array(cols), norms: new Float32Array(0), clippedCount: 0 };
    const { sizes, bounds } = layerArrays(layers);
    const parts = await this.map(x, rows, cols, (api, part, input) => api.clipAndSum(input, part.rows, sizes, bounds));
    return {
      sum: addAll(parts.map((p) => p.sum), cols),
      norms: concat(parts.map((p) => p.norms), rows * layers.length),
      clippedCount: parts.reduce((n, p) => n + p.clippedCount, 0),
    };
  }

  async clipValues(x: Float32Array, min: number, max: number, opts: ClipOptions = {}): Promise<Float32Array> {
    const options = readOptions(opts, ['inPlace', 'out']);
    assertFloat32Array('x', x);
    assertClampBounds(min, max);
    const length = currentLength(x);
    // Element-wise: split the values as if each were a row of one column.
    return this.writeParts(x, length, 1, resultTarget(x, length, options), (api, _part, input, out) => api.clipValues(input, min, max, out));
  }

  async sum(x: Float32Array, rows: number): Promise<Float32Array> {
    matrixColumns(x, rows);
    return this.weightedSum(x, rows, new Float64Array(rows).fill(1));
  }

  async mean(x: Float32Array, rows: number): Promise<Float32Array> {
    matrixColumns(x, rows);
    return this.weightedSum(x, rows, new Float64Array(rows).fill(1 / rows));
  }

  async weightedMean(x: Float32Array, rows: number, weights: ArrayLike<number>): Promise<Float32Array> {
    const read = readWeights(weights, rows);
    matrixColumns(x, rows);
    return this.weightedSum(x, rows, normalizeWeights(read, rows));
  }

  /**
   * `length` samples of N(0, sigma^2), as the sync gaussianNoise; each worker fills its part from
   * its own CSPRNG (ChaCha20 keyed by crypto.getRandomValues in that worker), so the parts are
   * independent. There is no `rng` option: a generator can not cross threads; for reproducible
   * noise use the sync API with a seeded rng. With shared memory the result is on a SharedArrayBuffer.
   */
  async gaussianNoise(length: number, sigma: number, opts: PoolNoiseOptions & { dtype: 'float32' }): Promise<Float32Array>;
  async gaussianNoise(length: number, sigma: number, opts?: PoolNoiseOptions & { dtype?: 'float64' }): Promise<Float64Array>;
  async gaussianNoise(length: number, sigma: number, opts?: PoolNoiseOptions): Promise<FloatArray>;
  async gaussianNoise(length: number, sigma: number, opts?: PoolNoiseOptions): Promise<FloatArray> {
    return this.fillNoise('gaussian', length, noiseScale('gaussian', sigma), opts);
  }

  /** `length` samples of Laplace(0, scale), as the sync laplaceNoise (per-worker CSPRNGs, no `rng`: see gaussianNoise). */
  async laplaceNoise(length: number, scale: number, opts: PoolNoiseOptions & { dtype: 'float32' }): Promise<Float32Array>;
  async laplaceNoise(length: number, scale: number, opts?: PoolNoiseOptions & { dtype?: 'float64' }): Promise<Float64Array>;
  async laplaceNoise(length: number, scale: number, opts?: PoolNoiseOptions): Promise<FloatArray>;
  async laplaceNoise(length: number, scale: number, opts?: PoolNoiseOptions): Promise<FloatArray> {
    return this.fillNoise('laplace', length, noiseScale('laplace', scale), opts);
  }

  /**
   * Adds N(0, sigma^2) noise to every element of x in place and resolves to x, as the sync
   * addGaussianNoise, from per-worker CSPRNGs (no `rng`: see gaussianNoise). Workers add into a
   * staged copy of x, which replaces x only when every part succeeded: a failed call (E_NONFINITE,
   * E_OVERFLOW, E_WORKER) leaves x unchanged, and each worker's generator moves past the noise it drew.
   */
  async addGaussianNoise<T extends FloatArray>(x: T, sigma: number): Promise<T> {
    const checked = noiseScale('gaussian', sigma);
    assertNoiseTarget(x);
    return this.addNoise('gaussian', x, checked);
  }

  /** Adds Laplace(0, scale) noise to every element of x in place and resolves to x (as addGaussianNoise). */
  async addLaplaceNoise<T extends FloatArray>(x: T, scale: number): Promise<T> {
    const checked = noiseScale('laplace', scale);
    assertNoiseTarget(x);
    return this.addNoise('laplace', x, checked);
  }

  /**
   * `count` Paillier randomness values r^n mod n^2 (r uniform in Z*_n) for the public key with
   * modulus n (hex text), split over the workers, each drawing r from its own CSPRNG. Used by
   * PublicKey.precomputeInPool, which validates and queues them.
   */
  async paillierRandomness(nHex: string, count: number): Promise<bigint[]> {
    if (assertInteger('count', count) > MAX_PRECOMPUTE) {
      throw new PrivkitError('E_ARG', `count must be at most ${MAX_PRECOMPUTE}, got ${count}`, { argument: 'count' });
    }
    const parts = await this.runParts(count, 1, (part) => (api) => api.paillierRandomness(nHex, part.rows));
    return parts.flat();
  }

  /**
   * `count` random probable primes of `bits` bits (as randomPrime), split over the workers, each
   * searching with its own CSPRNG. Used by generateKeyPair({ pool }), which validates them.
   */
  async paillierPrimes(bits: number, count: number): Promise<bigint[]> {
    const parts = await this.runParts(assertInteger('count', count), 1, (part) => (api) => api.paillierPrimes(bits, part.rows));
    return parts.flat();
  }

  /**
   * Encrypts x packed, as the sync encryptVector (same checks and result), the ciphertexts split
   * over the workers, each drawing r from its own CSPRNG (so `opts.rng` is refused) and never
   * using r^n values queued on publicKey. Worker results are checked to lie in Z*_{n^2}.
   */
  async encryptVector(publicKey: PublicKey, x: Float32Array, opts: PackingOptions): Promise<EncryptedVector> {
    const { layout, plaintexts } = packVector(publicKey, x, opts);
    if (opts.rng !== undefined) {
      throw new PrivkitError('E_ARG', 'opts.rng can not be used by the pool: each worker draws from its own CSPRNG (use the sync encryptVector)', {
        argument: 'opts.rng',
      });
    }
    const nHex = publicKey.n.toString(16);
    const parts = await this.runParts(plaintexts.length, layout.slots, (part) => {
      const chunk = plaintexts.slice(part.row, part.row + part.rows);
      return (api) => api.paillierEncrypt(nHex, chunk);
    });
    const ciphertexts = parts.flat().map((value) => publicKey.ciphertext(value));
    return { publicKey, layout, length: x.length, count: 1, ciphertexts };
  }

  /**
   * The entries of an encrypted vector, as the sync decryptVector, the ciphertexts split over the
   * workers. The private key's p and q are sent (as hex text) to this pool's own worker threads,
   * and to nothing else; each worker keeps the last key it was given.
   */
  async decryptVector(privateKey: PrivateKey, v: EncryptedVector): Promise<Float64Array> {
    checkEncryptedVector(privateKey, v);
    const values = v.ciphertexts.map((c, k) => {
      if (!privateKey.publicKey.equals((c as Partial<Ciphertext> | null)?.publicKey)) {
        throw new PrivkitError('E_ARG', `v.ciphertexts[${k}] is not a Ciphertext under this key`, { argument: 'v', index: k });
      }
      return c.value;
    });
    const [pHex, qHex] = [privateKey.p.toString(16), privateKey.q.toString(16)];
    const parts = await this.runParts(values.length, v.layout.slots, (part) => {
      const chunk = values.slice(part.row, part.row + part.rows);
      return (api) => api.paillierDecrypt(pHex, qHex, chunk);
    });
    return unpackVector(v, parts.flat());
  }

  /**
   * FedAvg client training (localUpdate of privkit/fl) for every task, the tasks split into one
   * contiguous part per worker. Resolves to the updates as one matrix, tasks x model.paramCount
   * (row-major), on a SharedArrayBuffer when the runtime has one: row k is bit for bit
   * localUpdate(model, params, clients[k].images, clients[k].labels, { ...opts, seed: clients[k].seed }).
   * Client samples on a SharedArrayBuffer are read in place; others are copied once and transferred.
   * Per-client seeds only (`opts.seed` is refused); a task without one trains from its worker's CSPRNG.
   */
  async localUpdates(model: Model, params: Float32Array, clients: readonly ClientTask[], opts: Omit<LocalTrainingOptions, 'seed'>): Promise<Float32Array> {
    checkModel(model);
    model.checkParams(params);
    checkClientTasks(model, clients);
    const local = checkLocalOptions(opts);
    if ((opts as LocalTrainingOptions).seed !== undefined) {
      throw new PrivkitError('E_ARG', 'opts.seed can not be used by the pool: give each client task its own seed', { argument: 'opts.seed' });
    }
    const d = model.paramCount;
    const weights = isShared(params) ? params : params.slice();
    return this.collect<Float32Array>(Float32Array, clients.length * d, undefined, (out) =>
      this.runParts(clients.length, d, (part) => {
        const buffers: ArrayBuffer[] = [];
        const tasks = clients.slice(part.row, part.row + part.rows).map((task) => ({
          images: movable(task.images, buffers),
          labels: movable(task.labels, buffers),
          ...(task.seed === undefined ? {} : { seed: task.seed.slice() }),
        }));
        const view = out?.subarray(part.row * d, (part.row + part.rows) * d);
        const payload = Comlink.transfer(tasks, buffers);
        return (api) => api.localUpdates(model.spec, weights, payload, local, view);
      }),
    );
  }

  /**
   * The trials of a privacy audit (auditMechanism of privkit/audit with `pool`): runs the mechanism
   * `trials` times on each of the two inputs, the trials split over the workers. Each worker imports
   * `mechanism.module` itself (so the mechanism should draw from the worker's CSPRNG, not a seed
   * fixed in the module); `inputs` are structured-cloned to every worker.
   */
  async auditSamples(mechanism: MechanismModule, inputs: readonly [unknown, unknown], trials: number): Promise<Samples> {
    const spec = checkMechanismModule(mechanism);
    const count = assertInteger('trials', trials, 1);
    const pair: [unknown, unknown] = [inputs[0], inputs[1]];
    return concatSamples(await this.runParts(count, 1, (part) => (api) => api.auditSamples(spec, pair, part.rows)));
  }

  /** Ends every worker. Later calls reject with E_WORKER. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new PrivkitError('E_WORKER', 'the pool was closed before the call finished');
    await Promise.all(
      this.slots.map(async (slot) => {
        for (const reject of slot.inFlight) reject(closing);
        slot.api[Comlink.releaseProxy]();
        await slot.spawned.terminate();
      }),
    );
  }

  private async weightedSum(x: Float32Array, rows: number, weights: Float64Array): Promise<Float32Array> {
    const cols = currentLength(x) / rows;
    const partial = await this.map(x, rows, cols, (api, part, input) =>
      api.weightedSum(input, part.rows, weights.slice(part.row, part.row + part.rows)),
    );
    const total = addAll(partial, cols);
    for (let j = 0; j < cols; j++) {
      if (!Number.isFinite(total[j])) {
        throw new PrivkitError('E_OVERFLOW', `the result overflows float32 at column ${j}`, { argument: 'x' });
      }
    }
    return total;
  }

  private clipInto(x: Float32Array, rows: number, cols: number, layers: Layer[], opts: ClipOptions): Promise<Float32Array> {
    const { sizes, bounds } = layerArrays(layers);
    return this.writeParts(x, rows, cols, resultTarget(x, rows * cols, opts), (api, part, input, out) =>
      api.clipPerLayer(input, part.rows, sizes, bounds, out),
    );
  }

  private fillNoise(kind: NoiseKind, length: number, scale: number, opts: unknown): Promise<FloatArray> {
    const n = noiseLength(length);
    const dtype = noiseDtype(poolNoiseOptions(opts).dtype);
    return this.collect<FloatArray>(dtype === 'float64' ? Float64Array : Float32Array, n, undefined, (out) =>
      this.runParts<FloatArray | undefined>(n, 1, (part) => {
        const view = out?.subarray(part.row, part.row + part.rows);
        return (api) => api.noise(kind, scale, part.rows, dtype, view);
      }),
    );
  }

  private async addNoise<T extends FloatArray>(kind: NoiseKind, x: T, scale: number): Promise<T> {
    // In place, so `out` (shared memory) is the memory of `input`: the workers add into it. A plain x
    // is staged by writeParts and written back only on success; a shared x is staged here alike.
    const length = currentLength(x);
    const add = (target: FloatArray) =>
      this.writeParts<FloatArray>(target, length, 1, target, (api, _part, input, out) => api.addNoise(kind, out ?? input, scale));
    if (!isShared(x)) {
      await add(x);
      return x;
    }
    return this.withStaging(typeOf(x), length, async (copy: FloatArray) => {
      copyIn(copy, x, 0, 'x');
      await add(copy);
      copyOut(copy, x, 0, 'x');
      return x;
    });
  }

  /**
   * Runs an operation whose output has the shape of its input, into `target` (x itself when in
   * place) or a new array. With shared memory the workers write straight into shared memory (in
   * place, `out` is the memory of `input`: x when it is shared, else one staged copy of it);
   * otherwise each returns its part.
   */
  private async writeParts<A extends FloatArray>(
    x: A,
    rows: number,
    cols: number,
    target: A | undefined,
    run: (api: Api, part: Part, input: A, out?: A) => Promise<A | undefined>,
  ): Promise<A> {
    return this.collect(typeOf(x), rows * cols, target, (out) => {
      if (out === undefined) return this.map(x, rows, cols, (api, part, input) => run(api, part, input));
      // In place, the workers read and write `out`: x itself when shared, else one staged copy of x.
      const source = target === x ? out : x;
      if (source !== x) copyIn(source, x, 0, 'x');
      return this.map(source, rows, cols, (api, part, input) =>
        run(api, part, input, region(out, part.row * cols, part.rows * cols, 'the target')),
      );
    });
  }

  /**
   * Produces `length` elements of `type` into `target` or a new array. With shared memory
   * `produce` gets a shared array for the workers to write into (the target itself, a new shared
   * result, or staging copied to the target); otherwise it resolves to the parts, in order.
   */
  private async collect<A extends FloatArray>(
    type: FloatType,
    length: number,
    target: A | undefined,
    produce: (out?: A) => Promise<(A | undefined)[]>,
  ): Promise<A> {
    if (canShareMemory()) {
      if (target === undefined || isShared(target)) {
        const out = target ?? sharedArray<A>(type, length);
        await produce(out);
        return out;
      }
      return this.withStaging(type, length, async (out: A) => {
        await produce(out);
        copyOut(out, target, 0, 'the target');
        return target;
      });
    }
    const parts = await produce();
    const result = target ?? (new type(length) as A);
    let offset = 0;
    for (const part of parts) {
      copyOut(part!, result, offset, 'the target');
      offset += part!.length;
    }
    return result;
  }

  /** Splits x by rows, runs `run` for each part on its own worker and returns the results in order. */
  private async map<A extends FloatArray, T>(
    x: A,
    rows: number,
    cols: number,
    run: (api: Api, part: Part, input: A) => Promise<T>,
  ): Promise<T[]> {
    if (canShareMemory() && !isShared(x)) {
      return this.withStaging(typeOf(x), rows * cols, (copy: A) => {
        copyIn(copy, x, 0, 'x');
        return this.map(copy, rows, cols, run);
      });
    }
    const shared = isShared(x);
    return this.runParts(rows, cols, (part) => {
      const view = region(x, part.row * cols, part.rows * cols, 'x');
      const input = (shared ? view : view.slice()) as A;
      return (api) => run(api, part, shared ? input : Comlink.transfer(input, [input.buffer]));
    });
  }

  /**
   * Splits `rows` rows of `cols` values into one part per worker and runs each part's call (made
   * now by `prepare`) on its worker; returns the results in order.
   */
  private async runParts<T>(rows: number, cols: number, prepare: (part: Part) => (api: Api) => Promise<T>): Promise<T[]> {
    if (this.closed) throw new PrivkitError('E_WORKER', 'the pool is closed');
    const settled = await Promise.allSettled(
      splitRows(rows, this.threads).map((part, i) => this.call(i, prepare(part), part.row * cols)),
    );
    // Report the failure of the earliest part, so a bad element is the first one in x.
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
  }

  /**
   * Lends `body` a shared array of `length` values of `type` for the duration of a call. Buffers
   * are kept for reuse (at most MAX_SPARE_STAGING), because allocating and first-touching a fresh
   * SharedArrayBuffer per call costs more than the copy itself.
   */
  private async withStaging<A extends FloatArray, T>(type: FloatType, length: number, body: (view: A) => Promise<T>): Promise<T> {
    const bytes = length * type.BYTES_PER_ELEMENT;
    const i = this.spareStaging.findIndex((buffer) => buffer.byteLength >= bytes);
    const buffer = i >= 0 ? this.spareStaging.splice(i, 1)[0]! : new SharedArrayBuffer(bytes);
    try {
      return await body(new type(buffer, 0, length) as A);
    } finally {
      this.spareStaging.push(buffer);
      if (this.spareStaging.length > MAX_SPARE_STAGING) this.spareStaging.sort((a, b) => b.byteLength - a.byteLength).pop();
    }
  }

  /**
   * Runs one call on worker `index` once it has started; rejects with E_WORKER if that worker dies
   * meanwhile or the pool is closed before the call could start or finish. A worker replaced while
   * the call waited for it is waited for in turn.
   */
  private async call<T>(index: number, run: (api: Api) => Promise<T>, elementOffset: number): Promise<T> {
    let slot = this.slots[index]!;
    for (;;) {
      await slot.started;
      if (this.closed) throw new PrivkitError('E_WORKER', 'the pool was closed before the call started');
      if (this.slots[index] === slot) break;
      slot = this.slots[index]!;
    }
    return new Promise<T>((resolve, reject) => {
      slot.inFlight.add(reject);
      let pending: Promise<T>;
      try {
        pending = run(slot.api);
      } catch (error) {
        pending = Promise.reject(error); // e.g. a proxy released by a crash: E_WORKER below
      }
      pending.then(resolve, (error: unknown) => reject(fromWorker(error, elementOffset))).finally(() => slot.inFlight.delete(reject));
    });
  }

  private spawn(index: number): Slot {
    const spawned = spawnKernelWorker((reason) => this.replace(index, spawned, reason));
    const api = Comlink.wrap<KernelWorkerApi>(spawned.endpoint);
    const started = api.init().catch((error: unknown) => {
      throw new PrivkitError('E_WORKER', `a pool worker failed to start: ${String(error)}`, { cause: error });
    });
    started.catch(() => {});
    return { spawned, api, started, inFlight: new Set() };
  }

  /** A crashed worker: its calls are rejected and a fresh worker takes its place. */
  private replace(index: number, crashed: SpawnedWorker, reason: string): void {
    const slot = this.slots[index]!;
    if (this.closed || slot.spawned !== crashed) return;
    const error = new PrivkitError('E_WORKER', `a pool worker crashed (${reason}); the call was abandoned`);
    for (const reject of slot.inFlight) reject(error);
    slot.api[Comlink.releaseProxy]();
    void slot.spawned.terminate().catch(() => {});
    this.slots[index] = this.spawn(index);
  }
}

/** A Float32Array on a SharedArrayBuffer when the runtime allows it, so the pool can use it without copies. */
export function sharedFloat32Array(length: number): Float32Array {
  return sharedArray(Float32Array, assertInteger('length', length));
}

/** A Float64Array on a SharedArrayBuffer when the runtime allows it (as sharedFloat32Array). */
export function sharedFloat64Array(length: number): Float64Array {
  return sharedArray(Float64Array, assertInteger('length', length));
}

function sharedArray<A extends FloatArray>(type: FloatType, length: number): A {
  const array = canShareMemory() ? new type(new SharedArrayBuffer(length * type.BYTES_PER_ELEMENT), 0, length) : new type(length);
  return array as A;
}

function isShared(x: FloatArray): boolean {
  return isSharedArray(x);
}

/** `view` itself when on shared memory (workers read it in place), else a compact copy whose buffer joins `transfers`. */
function movable<T extends Float32Array | Uint8Array>(view: T, transfers: ArrayBuffer[]): T {
  if (typeof SharedArrayBuffer === 'function' && view.buffer instanceof SharedArrayBuffer) return view;
  const copy = view.slice() as T;
  transfers.push(copy.buffer as ArrayBuffer);
  return copy;
}

function typeOf(x: FloatArray): FloatType {
  return x instanceof Float64Array ? Float64Array : Float32Array;
}

/** Options of a pooled noise call, checked as the sync API does; an `rng` is refused rather than ignored. */
function poolNoiseOptions(opts: unknown): { dtype?: unknown } {
  const checked = noiseOptions(opts);
  if (checked.rng !== undefined) {
    throw new PrivkitError(
      'E_ARG',
      'opts.rng can not be used by the pool: each worker draws from its own CSPRNG (for reproducible noise use the sync API with a seeded rng)',
      { argument: 'opts.rng' },
    );
  }
  return checked;
}

/** Layers as the plain arrays a worker call takes. */
function layerArrays(layers: Layer[]): { sizes: number[]; bounds: number[] } {
  return { sizes: layers.map((l) => l.end - l.start), bounds: layers.map((l) => l.maxNorm) };
}

function splitRows(rows: number, workers: number): Part[] {
  const n = Math.min(rows, workers);
  const parts: Part[] = [];
  for (let i = 0, row = 0; i < n; i++) {
    const count = Math.floor(rows / n) + (i < rows % n ? 1 : 0);
    parts.push({ row, rows: count });
    row += count;
  }
  return parts;
}

function concat(parts: Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function addAll(parts: Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  for (const part of parts) for (let j = 0; j < length; j++) out[j] += part[j]!;
  return out;
}

/** Rebuilds a PrivkitError that crossed the worker boundary; element indexes become indexes into the caller's x. */
function fromWorker(error: unknown, elementOffset: number): PrivkitError {
  if (error instanceof PrivkitError) return error;
  const e = error as { name?: string; message?: string; code?: PrivkitErrorCode; argument?: string; index?: number };
  if (e?.name === 'PrivkitError' && e.code !== undefined) {
    const index = e.index === undefined ? undefined : e.argument === 'x' ? e.index + elementOffset : e.index;
    const text = (e.message ?? '').replace(/^E_\w+: /, '');
    const message = index !== undefined && e.argument === 'x' ? text.replace(/^x\[\d+\]/, `x[${index}]`) : text;
    return new PrivkitError(e.code, message, { argument: e.argument, index });
  }
  return new PrivkitError('E_WORKER', `a pool worker failed: ${String(e?.message ?? error)}`, { cause: error });
}
