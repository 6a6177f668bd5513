// The worker pool: the sync kernels as async operations spread over worker threads.
// Rows are split into one contiguous part per worker; partial results (norm lists, partial sums)
// are merged here. Where the runtime has SharedArrayBuffer (Node; cross-origin-isolated pages),
// workers read shared inputs in place and plain inputs from one copy in reusable shared staging
// memory; elsewhere each worker gets a transferred copy of its part.
import * as Comlink from 'comlink';
import { canShareMemory, defaultThreads, spawnKernelWorker } from '#platform';
import { PrivkitError, type PrivkitErrorCode } from '../errors.js';
import {
  assertClampBounds,
  clipLayers,
  layerPlan,
  resultTarget,
  type ClipAndSumResult,
  type ClipOptions,
  type Layer,
  type LayerOptions,
} from '../kernels/clip.js';
import { normalizeWeights } from '../kernels/reduce.js';
import { assertFloat32Array, assertInteger, matrixColumns } from '../validate.js';
import type { SpawnedWorker } from '../platform/types.js';
import type { KernelWorkerApi } from '../../workers/kernel-worker.js';

export interface PoolOptions {
  /** Number of worker threads (default: the number of cores). */
  threads?: number;
}

type Api = Comlink.Remote<KernelWorkerApi>;

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
  const threads = opts.threads === undefined ? defaultThreads() : assertInteger('threads', opts.threads, 1);
  const pool = new Pool(threads);
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

  constructor(readonly threads: number) {
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn(i));
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
    const cols = matrixColumns(x, rows);
    return this.clipInto(x, rows, cols, clipLayers(cols, maxNorm), opts);
  }

  async clipPerLayer(
    x: Float32Array,
    rows: number,
    layerSizes: ArrayLike<number>,
    maxNorms: number | ArrayLike<number>,
    opts: ClipOptions = {},
  ): Promise<Float32Array> {
    const cols = matrixColumns(x, rows);
    return this.clipInto(x, rows, cols, layerPlan(cols, layerSizes, maxNorms, 'maxNorms'), opts);
  }

  async clipAndSum(
    x: Float32Array,
    rows: number,
    maxNorm: number | ArrayLike<number>,
    opts: LayerOptions = {},
  ): Promise<ClipAndSumResult> {
    const cols = matrixColumns(x, rows);
    const layers = clipLayers(cols, maxNorm, opts.layerSizes);
    const { sizes, bounds } = layerArrays(layers);
    const parts = await this.map(x, rows, cols, (api, part, input) => api.clipAndSum(input, part.rows, sizes, bounds));
    return {
      sum: addAll(parts.map((p) => p.sum), cols),
      norms: concat(parts.map((p) => p.norms), rows * layers.length),
      clippedCount: parts.reduce((n, p) => n + p.clippedCount, 0),
    };
  }

  async clipValues(x: Float32Array, min: number, max: number, opts: ClipOptions = {}): Promise<Float32Array> {
    assertFloat32Array('x', x);
    assertClampBounds(min, max);
    // Element-wise: split the values as if each were a row of one column.
    return this.writeParts(x, x.length, 1, opts, (api, _part, input, out) => api.clipValues(input, min, max, out));
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
    matrixColumns(x, rows);
    return this.weightedSum(x, rows, normalizeWeights(weights, rows));
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
    const cols = x.length / rows;
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
    return this.writeParts(x, rows, cols, opts, (api, part, input, out) =>
      api.clipPerLayer(input, part.rows, sizes, bounds, out),
    );
  }

  /**
   * Runs an operation whose output has the shape of its input. With shared memory the workers
   * write straight into a shared output; otherwise each returns its part, copied into place here.
   */
  private async writeParts(
    x: Float32Array,
    rows: number,
    cols: number,
    opts: ClipOptions,
    run: (api: Api, part: Part, input: Float32Array, out?: Float32Array) => Promise<Float32Array | undefined>,
  ): Promise<Float32Array> {
    const target = resultTarget(x, opts);
    if (canShareMemory()) {
      // Workers write into shared memory: the target itself, a new shared result, or staging copied to the target.
      if (target === undefined || isShared(target)) {
        const out = target ?? sharedFloat32Array(x.length);
        await this.map(x, rows, cols, (api, part, input) => run(api, part, input, out.subarray(part.row * cols, (part.row + part.rows) * cols)));
        return out;
      }
      return this.withStaging(x.length, async (out) => {
        await this.map(x, rows, cols, (api, part, input) => run(api, part, input, out.subarray(part.row * cols, (part.row + part.rows) * cols)));
        target.set(out);
        return target;
      });
    }
    const results = await this.map(x, rows, cols, (api, part, input) => run(api, part, input));
    const result = target ?? new Float32Array(x.length);
    let offset = 0;
    for (const part of results) {
      result.set(part!, offset);
      offset += part!.length;
    }
    return result;
  }

  /** Splits x by rows, runs `run` for each part on its own worker and returns the results in order. */
  private async map<T>(
    x: Float32Array,
    rows: number,
    cols: number,
    run: (api: Api, part: Part, input: Float32Array) => Promise<T>,
  ): Promise<T[]> {
    if (this.closed) throw new PrivkitError('E_WORKER', 'the pool is closed');
    if (canShareMemory() && !isShared(x)) {
      return this.withStaging(x.length, (copy) => {
        copy.set(x);
        return this.map(copy, rows, cols, run);
      });
    }
    const parts = splitRows(rows, this.threads);
    const source = isShared(x) ? x : undefined;
    const settled = await Promise.allSettled(
      parts.map((part, i) => {
        const start = part.row * cols;
        const end = start + part.rows * cols;
        const input = source !== undefined ? source.subarray(start, end) : x.slice(start, end);
        return this.call(i, (api) => run(api, part, source !== undefined ? input : Comlink.transfer(input, [input.buffer])), start);
      }),
    );
    // Report the failure of the earliest part, so a bad element is the first one in x.
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
  }

  /**
   * Lends `body` a shared Float32Array of `length` values for the duration of a call. Buffers are
   * kept for reuse (at most MAX_SPARE_STAGING), because allocating and first-touching a fresh
   * SharedArrayBuffer per call costs more than the copy itself.
   */
  private async withStaging<T>(length: number, body: (view: Float32Array) => Promise<T>): Promise<T> {
    const i = this.spareStaging.findIndex((buffer) => buffer.byteLength >= length * 4);
    const buffer = i >= 0 ? this.spareStaging.splice(i, 1)[0]! : new SharedArrayBuffer(length * 4);
    try {
      return await body(new Float32Array(buffer, 0, length));
    } finally {
      this.spareStaging.push(buffer);
      if (this.spareStaging.length > MAX_SPARE_STAGING) this.spareStaging.sort((a, b) => b.byteLength - a.byteLength).pop();
    }
  }

  /** Runs one call on worker `index`; rejects with E_WORKER if that worker dies meanwhile. */
  private async call<T>(index: number, run: (api: Api) => Promise<T>, elementOffset: number): Promise<T> {
    const slot = this.slots[index]!;
    await slot.started;
    return new Promise<T>((resolve, reject) => {
      slot.inFlight.add(reject);
      run(slot.api)
        .then(resolve, (error: unknown) => reject(fromWorker(error, elementOffset)))
        .finally(() => slot.inFlight.delete(reject));
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
  assertInteger('length', length);
  return canShareMemory() ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length);
}

function isShared(x: Float32Array): boolean {
  return typeof SharedArrayBuffer === 'function' && x.buffer instanceof SharedArrayBuffer;
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
