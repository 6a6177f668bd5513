// The Pool of privkit/pool: the pool engine (src/pool/engine.ts, which knows no family) with one
// method per public pooled operation of the registry (src/registry.ts), named and typed as the sync
// function it parallelizes. A registered operation becomes a Pool method by one line here. A method
// imports its operation's family on its first call (see the registry), so an app's bundle loads
// only the families whose methods it calls.
import type { MechanismModule, Samples } from './audit/sampling.js';
import type { PoolNoiseOptions } from './dp/pool-ops.js';
import type { ClientTask, LocalTrainingOptions } from './fl/local.js';
import type { Model } from './fl/model.js';
import type { ClipAndSumOptions, ClipAndSumResult, ClipOptions } from './kernels/clip.js';
import type { EncryptedVector, PrivateKey, PublicKey } from './paillier/keys.js';
import type { PackingOptions } from './paillier/packing.js';
import { poolOptions, WorkerPool, type PoolOptions } from './pool/engine.js';
import type { CallOptions } from './pool/types.js';
import { operation } from './registry.js';
import type { FloatArray } from './validate.js';

export type { CallOptions, PoolNoiseOptions };

/** `Symbol.asyncDispose`, or its registered stand-in on runtimes without it (for `await using`). */
const asyncDispose: typeof Symbol.asyncDispose = (Symbol as { asyncDispose?: typeof Symbol.asyncDispose }).asyncDispose ?? (Symbol.for('Symbol.asyncDispose') as typeof Symbol.asyncDispose);

/**
 * Starts a pool of workers and resolves once every one is ready. Its methods are the sync kernels'
 * operations as promises, split by rows over the workers; close it when done.
 *
 * A worker that can not start (its script missing, refused or failing at import) makes it reject
 * at once, without retrying. In Node, idle workers do not keep the process alive; `await using
 * pool = await createPool()` closes the pool at the end of the scope.
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when opts is not an options object, threads is not an integer in [1, MAX_POOL_THREADS], or workerUrl is not a URL or a non-empty string.
 * @throws {PrivkitError} E_WORKER (as a rejection) when a worker can not start: the message names the worker URL and the cause.
 *
 * @example
 * ```ts
 * import { createPool, sharedFloat32Array } from 'privkit/pool';
 * const pool = await createPool({ threads: 2 });
 * const x = sharedFloat32Array(256 * 1024); // read in place by the workers
 * const { sum, clippedCount } = await pool.clipAndSum(x, 256, 1.0);
 * console.log(sum.length, clippedCount); // 1024 0
 * await pool.close();
 * ```
 */
export async function createPool(opts: PoolOptions = {}): Promise<Pool> {
  const { threads, workerUrl } = poolOptions(opts);
  const pool = new Pool(threads, workerUrl);
  try {
    await pool.started();
  } catch (error) {
    await pool.close();
    throw error;
  }
  return pool;
}

/**
 * The sync kernels, noise samplers, packed Paillier vectors, FedAvg client training and audit trials
 * as async operations split over worker threads. Results equal the sync functions' (sums up to the
 * float32 rounding of adding per-worker partial sums); arguments are checked as the sync functions
 * check them. Plus `run` for any registered operation, `threads` and `close()`.
 *
 * Every operation takes `signal` and `onProgress` ({@link CallOptions}): in its options object where
 * it has one, else in an optional last argument. Aborting rejects with E_ABORTED and leaves the pool
 * serving; an aborted call that writes a shared array of the caller's (in place or a shared target)
 * may have written part of it, and rejects only once no worker can write it any more.
 * Failures: a crashed worker rejects its calls with E_WORKER and is respawned after a back-off; a
 * worker that crashes 3 times within a minute breaks the pool (every call then rejects with
 * E_WORKER; create a new pool).
 */
export class Pool extends WorkerPool {
  /** Closes the pool (as close()), for `await using pool = await createPool()`. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  /** As the sync l2Norms: the L2 norm of each row, the rows split over the workers. */
  async l2Norms(x: Float32Array, rows: number, opts?: CallOptions): Promise<Float32Array> {
    return this.runWith(opts, await operation('l2Norms'), x, rows);
  }

  /** As the sync clipByL2 (in place, into `opts.out` or a new array on shared memory where the runtime has it). */
  async clipByL2(x: Float32Array, rows: number, maxNorm: number, opts?: ClipOptions & CallOptions): Promise<Float32Array> {
    return this.runWith(opts, await operation('clipByL2'), x, rows, maxNorm, opts);
  }

  /** As the sync clipPerLayer (targets as clipByL2). */
  async clipPerLayer(x: Float32Array, rows: number, layerSizes: ArrayLike<number>, maxNorms: number | ArrayLike<number>, opts?: ClipOptions & CallOptions): Promise<Float32Array> {
    return this.runWith(opts, await operation('clipPerLayer'), x, rows, layerSizes, maxNorms, opts);
  }

  /** As the sync clipAndSum: the workers' column sums of their clipped rows are added in float32. */
  async clipAndSum(x: Float32Array, rows: number, maxNorm: number | ArrayLike<number>, opts?: ClipAndSumOptions & CallOptions): Promise<ClipAndSumResult> {
    return this.runWith(opts, await operation('clipAndSum'), x, rows, maxNorm, opts);
  }

  /** As the sync clipValues, the elements split over the workers (targets as clipByL2). */
  async clipValues(x: Float32Array, min: number, max: number, opts?: ClipOptions & CallOptions): Promise<Float32Array> {
    return this.runWith(opts, await operation('clipValues'), x, min, max, opts);
  }

  /** As the sync sum: the workers' partial column sums added in float32 (E_OVERFLOW beyond float32). */
  async sum(x: Float32Array, rows: number, opts?: CallOptions): Promise<Float32Array> {
    return this.runWith(opts, await operation('sum'), x, rows);
  }

  /** As the sync mean (partial sums as in sum). */
  async mean(x: Float32Array, rows: number, opts?: CallOptions): Promise<Float32Array> {
    return this.runWith(opts, await operation('mean'), x, rows);
  }

  /** As the sync weightedMean (partial sums as in sum). */
  async weightedMean(x: Float32Array, rows: number, weights: ArrayLike<number>, opts?: CallOptions): Promise<Float32Array> {
    return this.runWith(opts, await operation('weightedMean'), x, rows, weights);
  }

  /**
   * `length` samples of N(0, sigma^2), as the sync gaussianNoise; each worker fills its part from
   * its own CSPRNG, so the parts are independent. There is no `rng` option: a generator can not
   * cross threads; for reproducible noise use the sync API with a seeded rng. With shared memory
   * the result is on a SharedArrayBuffer.
   */
  gaussianNoise(length: number, sigma: number, opts: PoolNoiseOptions & CallOptions & { dtype: 'float32' }): Promise<Float32Array>;
  gaussianNoise(length: number, sigma: number, opts?: PoolNoiseOptions & CallOptions & { dtype?: 'float64' }): Promise<Float64Array>;
  gaussianNoise(length: number, sigma: number, opts?: PoolNoiseOptions & CallOptions): Promise<FloatArray>;
  async gaussianNoise(length: number, sigma: number, opts?: PoolNoiseOptions & CallOptions): Promise<FloatArray> {
    return this.runWith(opts, await operation('gaussianNoise'), length, sigma, opts);
  }

  /** `length` samples of Laplace(0, scale), as the sync laplaceNoise (per-worker CSPRNGs, no `rng`: see gaussianNoise). */
  laplaceNoise(length: number, scale: number, opts: PoolNoiseOptions & CallOptions & { dtype: 'float32' }): Promise<Float32Array>;
  laplaceNoise(length: number, scale: number, opts?: PoolNoiseOptions & CallOptions & { dtype?: 'float64' }): Promise<Float64Array>;
  laplaceNoise(length: number, scale: number, opts?: PoolNoiseOptions & CallOptions): Promise<FloatArray>;
  async laplaceNoise(length: number, scale: number, opts?: PoolNoiseOptions & CallOptions): Promise<FloatArray> {
    return this.runWith(opts, await operation('laplaceNoise'), length, scale, opts);
  }

  /**
   * Adds N(0, sigma^2) noise to every element of x in place and resolves to x, as the sync
   * addGaussianNoise, from per-worker CSPRNGs (no `rng`: see gaussianNoise). A failed call
   * (E_NONFINITE, E_OVERFLOW, E_WORKER) leaves x unchanged, and each worker's generator moves past
   * the noise it drew.
   */
  async addGaussianNoise<T extends FloatArray>(x: T, sigma: number, opts?: CallOptions): Promise<T> {
    return (await this.runWith(opts, await operation('addGaussianNoise'), x, sigma)) as T;
  }

  /** Adds Laplace(0, scale) noise to every element of x in place and resolves to x (as addGaussianNoise). */
  async addLaplaceNoise<T extends FloatArray>(x: T, scale: number, opts?: CallOptions): Promise<T> {
    return (await this.runWith(opts, await operation('addLaplaceNoise'), x, scale)) as T;
  }

  /**
   * Encrypts x packed, as the sync encryptVector (same checks and result), the ciphertexts split
   * over the workers, each drawing r from its own CSPRNG (so `opts.rng` is refused) and never using
   * r^n values queued on publicKey. Worker results are checked to lie in Z*_{n^2}.
   */
  async encryptVector(publicKey: PublicKey, x: Float32Array, opts: PackingOptions & CallOptions): Promise<EncryptedVector> {
    return this.runWith(opts, await operation('encryptVector'), publicKey, x, opts);
  }

  /**
   * The entries of an encrypted vector, as the sync decryptVector, the ciphertexts split over the
   * workers. The private key's p and q are sent to this pool's own worker threads, and to nothing
   * else; each worker keeps the last key it was given.
   */
  async decryptVector(privateKey: PrivateKey, v: EncryptedVector, opts?: CallOptions): Promise<Float64Array> {
    return this.runWith(opts, await operation('decryptVector'), privateKey, v);
  }

  /**
   * FedAvg client training (localUpdate of privkit/fl) for every task, the tasks split over the
   * workers. Resolves to the updates as one matrix, tasks x model.paramCount (row-major), on a
   * SharedArrayBuffer when the runtime has one: row k is bit for bit localUpdate(model, params,
   * clients[k].images, clients[k].labels, { ...opts, seed: clients[k].seed }). Per-client seeds only
   * (`opts.seed` is refused); a task without one trains from its worker's CSPRNG.
   */
  async localUpdates(model: Model, params: Float32Array, clients: readonly ClientTask[], opts: Omit<LocalTrainingOptions, 'seed'> & CallOptions): Promise<Float32Array> {
    return this.runWith(opts, await operation('localUpdates'), model, params, clients, opts);
  }

  /**
   * The trials of a privacy audit (auditMechanism of privkit/audit with `pool`): runs the mechanism
   * `trials` times on each of the two inputs, the trials split over the workers, each of which
   * imports `mechanism.module` itself.
   */
  async auditSamples(mechanism: MechanismModule, inputs: readonly [unknown, unknown], trials: number, opts?: CallOptions): Promise<Samples> {
    return this.runWith(opts, await operation('auditSamples'), mechanism, inputs, trials);
  }
}
