// The pool engine: worker threads that run pooled operations (see ./types.ts) without knowing any
// family. A call is planned on the caller's thread, its rows cut into one contiguous part per worker
// (./parts.ts), each part run by the worker of the same index, and the parts' results merged here.
// Memory: where the runtime has SharedArrayBuffer, workers read shared inputs in place and plain
// inputs from one copy in reusable shared staging, and write outputs into shared memory (the target
// itself, a new shared array, or staging copied to the target once every part succeeded);
// elsewhere each worker gets a transferred copy of its rows and sends its output rows back.
// A worker that dies rejects its calls with E_WORKER and is replaced; close() ends every worker and
// rejects what is still running.
import { platform } from '#platform';
import { PrivkitError } from '../errors.js';
import { assertInteger, readOptions, type FloatArray } from '../validate.js';
import { copyIn, copyOut, isSharedArray, region } from '../wasm/boundary.js';
import type { SpawnedWorker } from '../platform/types.js';
import { fromWorkerError, type ElementOffset } from './errors.js';
import { dtypeOf, plainArray, sharedArray, Staging } from './memory.js';
import { splitRows } from './parts.js';
import type { Reply, Request } from './protocol.js';
import type { FloatDtype, Part, Plan, PlanInput, PoolOperation, PoolRunner } from './types.js';

/** Options of createPool. */
export interface PoolOptions {
  /** Number of worker threads, 1 to MAX_POOL_THREADS (default: the number of cores, at most MAX_POOL_THREADS). */
  threads?: number;
}

/** Most worker threads a pool takes (256). */
export const MAX_POOL_THREADS = 256;

/** The workers' count when the caller gave none. */
export function poolThreads(opts: PoolOptions): number {
  const { threads } = readOptions(opts, ['threads']);
  return threads === undefined ? Math.min(platform.defaultThreads(), MAX_POOL_THREADS) : assertInteger('threads', threads, 1, MAX_POOL_THREADS);
}

interface Pending {
  resolve(reply: Extract<Reply, { kind: 'done' }>): void;
  reject(error: PrivkitError): void;
  /** Where the part's input starts in the caller's array (to re-index element errors). */
  elements: ElementOffset | undefined;
}

interface Slot {
  spawned: SpawnedWorker;
  /** Resolves when the worker's wasm engine is ready; rejects when it failed to start or died first. */
  started: Promise<void>;
  /** The calls in flight on this worker, by request id. */
  pending: Map<number, Pending>;
  /** Settles `started` from the worker's first message or its crash. */
  settleStart(error?: PrivkitError): void;
}

/** Where the parts of one call read and write, and what to do once they all succeeded. */
interface CallMemory {
  input?: FloatArray;
  output?: FloatArray;
  /** The call's output array: the target, or the shared array the parts wrote. */
  result?: FloatArray;
  /** Copies staged output to the target, when the parts wrote staging. */
  commit(): void;
}

export class WorkerPool implements PoolRunner {
  private readonly slots: Slot[] = [];
  private readonly staging = new Staging();
  private nextId = 1;
  private closed = false;

  /** Number of worker threads. */
  readonly threads: number;

  /** Starts `threads` workers; createPool also waits until they are ready. */
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

  /**
   * Runs a pooled operation: its plan here (rejecting as the sync API throws), its parts on the
   * workers, its merge here. Rejects with E_WORKER if the pool is closed or a worker dies meanwhile;
   * a part's error is the error of the earliest failing part, indexed into the caller's arrays.
   */
  async run<Args extends unknown[], Result>(operation: PoolOperation<Args, unknown, unknown, Result, Plan<unknown>>, ...args: Args): Promise<Result> {
    const plan = operation.plan(...args);
    if (this.closed) throw new PrivkitError('E_WORKER', 'the pool is closed');
    const parts = splitRows(plan.rows, this.threads);
    const { results, output } = platform.canShareMemory() ? await this.runShared(operation.name, plan, parts) : await this.runCopying(operation.name, plan, parts);
    return operation.merge(results, plan, output);
  }

  /** Ends every worker. Later calls reject with E_WORKER. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new PrivkitError('E_WORKER', 'the pool was closed before the call finished');
    await Promise.all(
      this.slots.map(async (slot) => {
        for (const call of slot.pending.values()) call.reject(closing);
        slot.pending.clear();
        slot.settleStart(closing);
        await slot.spawned.terminate();
      }),
    );
  }

  /** With shared memory: the parts read and write views of shared arrays (see CallMemory). */
  private async runShared(name: string, plan: Plan<unknown>, parts: Part[]): Promise<{ results: unknown[]; output?: FloatArray }> {
    const { input, output } = plan;
    const lent: FloatArray[] = [];
    try {
      const memory = this.sharedMemory(plan, lent);
      const replies = await this.dispatch(name, plan, parts, (part) => ({
        input: input && region(memory.input!, part.row * input.cols, part.rows * input.cols, input.name),
        output: output && region(memory.output!, part.row * output.cols, part.rows * output.cols, 'the target'),
      }));
      memory.commit();
      return { results: replies.map((reply) => reply.value), output: memory.result };
    } finally {
      for (const view of lent) this.staging.giveBack(view);
    }
  }

  /**
   * The shared memory of a call: the input itself when shared, else a staged copy; the output the
   * target itself when shared (and not all-or-nothing), a new shared array without a target, else
   * staging that `commit` copies to the target. In place, input and output are one memory. Staging
   * views lent for the call are recorded in `lent`.
   */
  private sharedMemory(plan: Plan<unknown>, lent: FloatArray[]): CallMemory {
    const { input, output, rows } = plan;
    const lend = (dtype: FloatDtype, length: number): FloatArray => {
      const view = this.staging.lend(dtype, length);
      lent.push(view);
      return view;
    };
    /** A staged copy of the input. */
    const staged = (from: PlanInput): FloatArray => {
      const copy = lend(dtypeOf(from.array), rows * from.cols);
      copyIn(copy, from.array, 0, from.name);
      return copy;
    };
    /** The input as the workers read it: itself when shared, else a staged copy. */
    const readable = (): FloatArray | undefined => (input === undefined || isSharedArray(input.array) ? input?.array : staged(input));
    if (output === undefined) return { input: readable(), commit() {} };
    const { target } = output;
    const direct = target !== undefined && isSharedArray(target) && output.allOrNothing !== true;
    if (output.inPlace) {
      if (direct) return { input: target, output: target, result: target, commit() {} };
      const memory = staged(input!);
      return { input: memory, output: memory, result: target, commit: () => copyOut(memory, target!, 0, input!.name) };
    }
    const inputMemory = readable();
    if (target === undefined) {
      const fresh = sharedArray(output.dtype, rows * output.cols);
      return { input: inputMemory, output: fresh, result: fresh, commit() {} };
    }
    if (direct) return { input: inputMemory, output: target, result: target, commit() {} };
    const written = lend(output.dtype, rows * output.cols);
    return { input: inputMemory, output: written, result: target, commit: () => copyOut(written, target, 0, 'the target') };
  }

  /** Without shared memory: each part gets a copy of its rows, moved to its worker, and sends its output rows back. */
  private async runCopying(name: string, plan: Plan<unknown>, parts: Part[]): Promise<{ results: unknown[]; output?: FloatArray }> {
    const { input, output } = plan;
    const replies = await this.dispatch(name, plan, parts, (part, transfer) => {
      const copy = input && region(input.array, part.row * input.cols, part.rows * input.cols, input.name).slice();
      if (copy !== undefined) transfer.push(copy.buffer as ArrayBuffer);
      if (output === undefined) return { input: copy };
      return output.inPlace ? { input: copy, inPlace: true } : { input: copy, allocate: { dtype: output.dtype, length: part.rows * output.cols } };
    });
    if (output === undefined) return { results: replies.map((reply) => reply.value) };
    const result = output.target ?? plainArray(output.dtype, plan.rows * output.cols);
    const targetName = output.inPlace ? input!.name : 'the target';
    parts.forEach((part, i) => copyOut(replies[i]!.output!, result, part.row * output.cols, targetName));
    return { results: replies.map((reply) => reply.value), output: result };
  }

  /**
   * Sends each part to its worker with its rows of memory (made by `memoryOf`) and its task, and
   * resolves to the replies in order once all succeeded; otherwise rejects with the error of the
   * earliest failing part, so that a bad element is reported at its first occurrence.
   */
  private async dispatch(
    name: string,
    plan: Plan<unknown>,
    parts: Part[],
    memoryOf: (part: Part, transfer: ArrayBuffer[]) => Omit<Request, 'id' | 'operation' | 'task'>,
  ): Promise<Extract<Reply, { kind: 'done' }>[]> {
    const settled = await Promise.allSettled(
      parts.map((part, i) => {
        const transfer: ArrayBuffer[] = [];
        const request = { operation: name, ...memoryOf(part, transfer), task: plan.task(part, transfer) };
        const elements = plan.input && { argument: plan.input.name, offset: part.row * plan.input.cols };
        return this.call(i, request, transfer, elements);
      }),
    );
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<Extract<Reply, { kind: 'done' }>>).value);
  }

  /**
   * Runs one request on worker `index` once it has started; rejects with E_WORKER if that worker
   * dies meanwhile or the pool is closed before the call could start or finish. A worker replaced
   * while the call waited for it is waited for in turn.
   */
  private async call(
    index: number,
    request: Omit<Request, 'id'>,
    transfer: ArrayBuffer[],
    elements: ElementOffset | undefined,
  ): Promise<Extract<Reply, { kind: 'done' }>> {
    let slot = this.slots[index]!;
    for (;;) {
      try {
        await slot.started;
      } catch (error) {
        if (this.slots[index] === slot || this.closed) throw error;
      }
      if (this.closed) throw new PrivkitError('E_WORKER', 'the pool was closed before the call started');
      if (this.slots[index] === slot) break;
      slot = this.slots[index]!;
    }
    const id = this.nextId++;
    const running = slot;
    return new Promise((resolve, reject) => {
      running.pending.set(id, { resolve, reject, elements });
      try {
        running.spawned.post({ ...request, id }, transfer);
      } catch (error) {
        running.pending.delete(id);
        reject(new PrivkitError('E_WORKER', `a pool call could not be sent to its worker: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
      }
    });
  }

  /** A message from the worker of `slot`: its start, or the reply to one of its calls. */
  private receive(slot: Slot, reply: Reply): void {
    if (reply.kind === 'ready') return slot.settleStart();
    if (reply.kind === 'failed') return slot.settleStart(new PrivkitError('E_WORKER', `a pool worker failed to start: ${reply.message}`));
    const call = slot.pending.get(reply.id);
    if (call === undefined) return; // abandoned: the pool was closed meanwhile
    slot.pending.delete(reply.id);
    if (reply.kind === 'done') call.resolve(reply);
    else call.reject(fromWorkerError(reply.error, call.elements));
  }

  private spawn(index: number): Slot {
    let settle!: (error?: PrivkitError) => void;
    const started = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    started.catch(() => {}); // observed by createPool and by each call
    const slot: Slot = {
      spawned: platform.spawnPoolWorker({
        message: (data) => this.receive(slot, data as Reply),
        crash: (reason) => this.replace(index, slot, reason),
      }),
      started,
      pending: new Map(),
      settleStart: settle,
    };
    return slot;
  }

  /** A crashed worker: its calls are rejected and a fresh worker takes its place. */
  private replace(index: number, crashed: Slot, reason: string): void {
    if (this.closed || this.slots[index] !== crashed) return;
    const error = new PrivkitError('E_WORKER', `a pool worker crashed (${reason}); the call was abandoned`);
    for (const call of crashed.pending.values()) call.reject(error);
    crashed.pending.clear();
    crashed.settleStart(error);
    void crashed.spawned.terminate().catch(() => {});
    this.slots[index] = this.spawn(index);
  }
}

