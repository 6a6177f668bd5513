// The pool engine: worker threads that run pooled operations (see ./types.ts) without knowing any
// family. A call is planned on the caller's thread, its rows cut into one contiguous part per worker
// (./parts.ts), each part run by the worker of the same index, and the parts' results merged here.
// Memory: where the runtime has SharedArrayBuffer, workers read shared inputs in place and plain
// inputs from one copy in reusable shared staging, and write outputs into shared memory (the target
// itself, a new shared array, or staging copied to the target once every part succeeded). An input
// that lies in a shared wasm memory (./memory.ts) is read there by the workers' kernels: each worker
// is sent that memory once and keeps it until the memory is garbage here (see Request.inputMemory).
// Without SharedArrayBuffer each worker gets a transferred copy of its rows and sends its output rows
// back. The wasm modules this thread compiled go to each worker once, with its
// first request after they were compiled, so workers compile none of them again.
// Failures: a worker that can not start breaks the pool at once (createPool rejects with E_WORKER
// naming the worker URL and the cause; nothing is respawned); a worker that dies later rejects its
// calls with E_WORKER and is respawned after a back-off, and one that crashes MAX_CRASHES times
// within CRASH_WINDOW_MS breaks the pool (every call then rejects with E_WORKER: create a new pool).
// close() ends every worker and rejects what is still running. A call's signal cancels it (E_ABORTED);
// workers running only its parts are ended and replaced. In Node, workers keep the process alive only
// while calls run (or while they start), so a forgotten pool does not hold a finished program.
import { platform } from '#platform';
import { abortedError, fromWorkerError, PrivkitError, type ElementOffset } from '../errors.js';
import { assertInteger, callOptions, describe, readOptions, type FloatArray } from '../validate.js';
import { copyIn, copyOut, isSharedArray, region } from '../wasm/boundary.js';
import { compiledModules } from '../wasm/runtime.js';
import { compiledSharedModules, freeSlotsOf, wasmMemoryOf } from '../wasm/shared-memory.js';
import type { SpawnedWorker } from '../platform/types.js';
import { dtypeOf, sharedArray, Staging } from './memory.js';
import { splitRows } from './parts.js';
import { plainArray, type Forget, type Reply, type Request } from './protocol.js';
import type { CallOptions, FloatDtype, Part, Plan, PlanInput, PoolOperation, PoolRunner } from './types.js';

/** Options of createPool. */
export interface PoolOptions {
  /** Number of worker threads, 1 to MAX_POOL_THREADS (default: the number of cores, at most MAX_POOL_THREADS). */
  threads?: number;
  /**
   * The worker script (privkit's dist/src/pool/worker.js, served with its imports), for bundlers that
   * do not follow `new URL('./worker.js', import.meta.url)`. Browsers: a module worker URL of the
   * page's origin; Node: a file path or a file: URL. Default: the worker next to the pool's module.
   */
  workerUrl?: string | URL;
}

/** Most worker threads a pool takes (256). */
export const MAX_POOL_THREADS = 256;
/** A worker crashing this many times within CRASH_WINDOW_MS breaks the pool. */
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;
/** Wait before the first respawn after a crash; each further crash in the window waits 4 times longer. */
const RESPAWN_BACKOFF_MS = 100;

/**
 * The options of createPool, read once: the workers' script checked, their count as given (the
 * WorkerPool constructor checks it, under the same name) or the default.
 */
export function poolOptions(opts: PoolOptions | undefined): { threads: number; workerUrl: string | URL | undefined } {
  const { threads, workerUrl } = readOptions(opts, ['threads', 'workerUrl']);
  return {
    threads: threads === undefined ? Math.min(platform.defaultThreads(), MAX_POOL_THREADS) : (threads as number),
    workerUrl: workerUrl === undefined ? undefined : checkWorkerUrl('opts.workerUrl', workerUrl),
  };
}

/** A worker URL: a non-empty string or a URL (what it points at is checked by starting the worker). */
function checkWorkerUrl(argument: string, url: unknown): string | URL {
  if (url instanceof URL || (typeof url === 'string' && url.length > 0 && url.length <= 8192)) return url;
  throw new PrivkitError('E_ARG', `${argument} must be a URL or a non-empty string of at most 8192 characters, got ${describe(url)}`, { argument });
}

interface Pending {
  resolve(reply: Extract<Reply, { kind: 'done' }>): void;
  reject(error: unknown): void;
  /** Where the part's input starts in the caller's array (to re-index element errors). */
  elements: ElementOffset | undefined;
  /** Units of the part done so far, as its worker reports them. */
  progress(done: number): void;
  /** The call the part belongs to. */
  call: Call;
}

interface Slot {
  index: number;
  /** The worker; undefined while a respawn waits out its back-off, or when it could not be spawned. */
  spawned?: SpawnedWorker;
  /** Resolves when the worker's wasm engine is ready; rejects when it failed to start or died first. */
  started: Promise<void>;
  /** Whether the worker announced that it is ready. */
  ready: boolean;
  /** The calls in flight on this worker, by request id. */
  pending: Map<number, Pending>;
  /** Parts of cancelled calls the worker still runs while it serves others: run when each is over. */
  abandoned: Map<number, () => void>;
  /** The worker's THREAD_ID (from its ready message), by which it takes scratch slots of shared wasm memories. */
  thread?: bigint;
  /** The shared wasm memory of the input of each part in flight on the worker, by request id. */
  memories: Map<number, WebAssembly.Memory>;
  /** Ids of the input memories sent to the worker (each is sent once; the worker keeps it until told to forget it). */
  memoriesSent: Set<number>;
  /** Names of the compiled modules sent to the worker (each is sent once; the shared builds as <name>-shared). */
  modulesSent: Set<string>;
  /** Settles `started` from the worker's first message or its crash. */
  settleStart(error?: PrivkitError): void;
  /** The back-off timer of a respawn. */
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * One running call: its progress and its cancellation. Cancelling it (an abort, or onProgress
 * throwing) rejects it at once; its parts' replies are then ignored.
 */
class Call {
  /** Why the call was cancelled, once it was. */
  cancelled: { error: unknown } | undefined;
  /**
   * Once cancelled: resolves when no worker can touch the call's memory any more: the workers that
   * ran only its parts ended, and those that keep serving finished its parts (their replies dropped).
   */
  released: Promise<void> | undefined;
  /** Rejects when the call is cancelled. */
  readonly whenCancelled: Promise<never>;
  private readonly done: number[];
  private reported = 0;
  private cancel!: (error: unknown) => void;
  /** The call is over: it no longer listens to its signal. */
  readonly finish: () => void;

  constructor(
    readonly parts: Part[],
    private readonly total: number,
    /** Called with the call's progress; the parts report theirs only when there is one. */
    readonly onProgress: CallOptions['onProgress'],
    signal: AbortSignal | undefined,
    onCancel: (call: Call) => void,
  ) {
    this.done = parts.map(() => 0);
    this.whenCancelled = new Promise<never>((_, reject) => {
      this.cancel = (error) => {
        if (this.cancelled !== undefined) return;
        this.cancelled = { error };
        reject(error);
        onCancel(this);
      };
    });
    this.whenCancelled.catch(() => {}); // raced by dispatch
    const abort = (): void => this.cancel(abortedError(signal!));
    signal?.addEventListener('abort', abort, { once: true });
    this.finish = () => signal?.removeEventListener('abort', abort);
  }

  /** Part `i` has done `units` of its rows: tells onProgress the call's total when it grew. */
  progress(i: number, units: number): void {
    if (this.cancelled !== undefined || this.onProgress === undefined) return;
    this.done[i] = Math.min(units, this.parts[i]!.rows);
    const done = this.done.reduce((a, b) => a + b, 0);
    if (done <= this.reported) return;
    this.reported = done;
    try {
      this.onProgress(done, this.total);
    } catch (error) {
      this.cancel(error);
    }
  }
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
  /** Recent crash times of each worker index. */
  private readonly crashes: number[][] = [];
  private readonly workerUrl: string | URL | undefined;
  private nextId = 1;
  /** Calls running; while there are any, workers keep a Node process alive. */
  private active = 0;
  /** Why calls are refused: the pool was closed or is broken. */
  private ended: string | undefined;
  /** The workers' termination, once the pool ended. */
  private terminated: Promise<void> | undefined;
  /** Tells the workers to forget an input memory once it is garbage here (registered each time it is first sent to a worker). */
  private readonly forgetting = new FinalizationRegistry<number>((id) => this.forget(id));

  /** Number of worker threads. */
  readonly threads: number;

  /**
   * Starts `threads` workers (of the script at `workerUrl`, default privkit's own); createPool also
   * waits until they are ready.
   */
  constructor(threads: number, workerUrl?: string | URL) {
    this.threads = assertInteger('threads', threads, 1, MAX_POOL_THREADS);
    this.workerUrl = workerUrl === undefined ? undefined : checkWorkerUrl('workerUrl', workerUrl);
    for (let i = 0; i < this.threads; i++) {
      this.crashes.push([]);
      this.slots.push(this.spawn(i, 0));
    }
  }

  /**
   * Resolves when every worker has instantiated its wasm engine; rejects with E_WORKER (naming the
   * worker URL and the cause) as soon as one fails to start, which breaks the pool.
   */
  async started(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.started));
  }

  /**
   * Runs a pooled operation: its plan here (rejecting as the sync API throws), its parts on the
   * workers, its merge here. Rejects with E_WORKER if the pool is closed or broken or a worker dies
   * meanwhile; a part's error is the error of the earliest failing part, indexed into the caller's arrays.
   */
  run<Args extends unknown[], Result>(operation: PoolOperation<Args, unknown, unknown, Result, Plan<unknown>>, ...args: Args): Promise<Result> {
    return this.runWith(undefined, operation, ...args);
  }

  /** As run, with cancellation and progress (see CallOptions): E_ABORTED when `call.signal` aborts. */
  async runWith<Args extends unknown[], Result>(
    call: CallOptions | undefined,
    operation: PoolOperation<Args, unknown, unknown, Result, Plan<unknown>>,
    ...args: Args
  ): Promise<Result> {
    const { signal, onProgress } = callOptions(call);
    const plan = operation.plan(...args);
    if (this.ended !== undefined) throw new PrivkitError('E_WORKER', this.ended);
    if (signal?.aborted) throw abortedError(signal);
    const parts = splitRows(plan.rows, this.threads);
    const running = new Call(parts, plan.rows, onProgress, signal, (cancelled) => this.cancel(cancelled));
    if (this.active++ === 0) this.hold(true);
    try {
      const { results, output } = platform.canShareMemory() ? await this.runShared(operation, plan, running) : await this.runCopying(operation, plan, running);
      return operation.merge(results, plan, output);
    } finally {
      running.finish();
      if (--this.active === 0) this.hold(false);
    }
  }

  /** Ends every worker. Later calls reject with E_WORKER. */
  async close(): Promise<void> {
    if (this.ended === undefined) this.end('the pool is closed', new PrivkitError('E_WORKER', 'the pool was closed before the call finished'));
    await this.terminated;
  }

  /** Whether the workers keep a Node process alive: while calls run, and while a worker starts. */
  private hold(busy: boolean): void {
    for (const slot of this.slots) if (slot.ready) slot.spawned?.hold(busy);
  }

  /**
   * Ends the pool: `reason` for later calls, `error` for the calls in flight and the workers still
   * starting; every worker is terminated.
   */
  private end(reason: string, error: PrivkitError): void {
    this.ended = reason;
    this.terminated = Promise.all(
      this.slots.map(async (slot) => {
        for (const part of slot.pending.values()) part.reject(error);
        slot.pending.clear();
        slot.settleStart(error);
        clearTimeout(slot.timer);
        await terminateSlot(slot);
      }),
    ).then(() => {});
  }

  /** With shared memory: the parts read and write views of shared arrays (see CallMemory). */
  private async runShared(operation: Operation, plan: Plan<unknown>, call: Call): Promise<{ results: unknown[]; output?: FloatArray }> {
    const { input, output } = plan;
    const lent: FloatArray[] = [];
    let writesCaller = false;
    try {
      const memory = this.sharedMemory(plan, lent);
      writesCaller = output?.target !== undefined && memory.output === output.target;
      const inputMemory = memory.input && wasmMemoryOf(memory.input);
      const replies = await this.dispatch(operation, plan, call, (part) => {
        const view = input && region(memory.input!, part.row * input.cols, part.rows * input.cols, input.name);
        const target = output && region(memory.output!, part.row * output.cols, part.rows * output.cols, 'the target');
        if (inputMemory === undefined || view === undefined) return { input: view, output: target };
        // a part writing no output gets its input as a place in the memory (see Request.inputMemory)
        const place = target === undefined ? { byteOffset: view.byteOffset, length: view.length, dtype: dtypeOf(view) } : undefined;
        return { input: place === undefined ? view : undefined, inputMemory: { id: memoryId(inputMemory), memory: inputMemory, place }, output: target };
      });
      memory.commit();
      return { results: replies.map((reply) => reply.value), output: memory.result };
    } finally {
      const giveBack = (): void => lent.forEach((view) => this.staging.giveBack(view));
      // a cancelled call's staging is reused once no worker can write it any more; a cancelled call
      // whose workers write the caller's own shared array settles only then, so the caller gets its
      // array back with no write still to come (the wait is the rest of a part on a busy worker)
      if (call.cancelled === undefined) giveBack();
      else void call.released?.then(giveBack);
      if (call.cancelled !== undefined && writesCaller) await call.released;
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
  private async runCopying(operation: Operation, plan: Plan<unknown>, call: Call): Promise<{ results: unknown[]; output?: FloatArray }> {
    const { input, output } = plan;
    const { parts } = call;
    const replies = await this.dispatch(operation, plan, call, (part, transfer) => {
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
   * Sends each part of `call` to its worker with its rows of memory (made by `memoryOf`) and its
   * task, and resolves to the replies in order once all succeeded; otherwise rejects with the error
   * of the earliest failing part, so that a bad element is reported at its first occurrence, or at
   * once with the call's cancellation.
   */
  private async dispatch(
    { name, family }: Operation,
    plan: Plan<unknown>,
    call: Call,
    memoryOf: (part: Part, transfer: ArrayBuffer[]) => Omit<Request, 'id' | 'operation' | 'family' | 'task'>,
  ): Promise<Extract<Reply, { kind: 'done' }>[]> {
    const parts = Promise.allSettled(
      call.parts.map((part, i) => {
        const transfer: ArrayBuffer[] = [];
        const request = { operation: name, family, ...memoryOf(part, transfer), task: plan.task(part, transfer), progress: call.onProgress !== undefined };
        const elements = plan.input && { argument: plan.input.name, offset: part.row * plan.input.cols };
        return this.send(i, request, transfer, elements, call);
      }),
    );
    const settled = await Promise.race([parts, call.whenCancelled]);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<Extract<Reply, { kind: 'done' }>>).value);
  }

  /**
   * Runs part `index` of `call` on worker `index` once it has started; rejects with E_WORKER if that
   * worker dies meanwhile or the pool ends before the part could start or finish, and with the
   * call's cancellation if it is cancelled first. A worker replaced while the part waited for it is
   * waited for in turn.
   */
  private async send(
    index: number,
    request: Omit<Request, 'id'>,
    transfer: ArrayBuffer[],
    elements: ElementOffset | undefined,
    call: Call,
  ): Promise<Extract<Reply, { kind: 'done' }>> {
    let slot = this.slots[index]!;
    for (;;) {
      try {
        await slot.started;
      } catch (error) {
        if (this.slots[index] === slot || this.ended !== undefined) throw error;
      }
      if (call.cancelled !== undefined) throw call.cancelled.error;
      if (this.ended !== undefined) throw new PrivkitError('E_WORKER', `${this.ended}: the call could not start`);
      if (this.slots[index] === slot) break;
      slot = this.slots[index]!;
    }
    const id = this.nextId++;
    const running = slot;
    const rows = call.parts[index]!.rows;
    return new Promise((resolve, reject) => {
      const done = (reply: Extract<Reply, { kind: 'done' }>): void => {
        call.progress(index, rows);
        resolve(reply);
      };
      running.pending.set(id, { resolve: done, reject, elements, call, progress: (units) => call.progress(index, units) });
      const { inputMemory } = request;
      if (inputMemory?.memory !== undefined) running.memories.set(id, inputMemory.memory);
      const firstTime = inputMemory !== undefined && !running.memoriesSent.has(inputMemory.id);
      if (firstTime) {
        running.memoriesSent.add(inputMemory.id);
        // once per worker: the first forget() tells every worker holding it, the others find none
        this.forgetting.register(inputMemory.memory!, inputMemory.id);
      }
      try {
        const modules = unsentModules(running, compiledModules());
        const sharedModules = unsentModules(running, compiledSharedModules(), '-shared');
        const sentMemory = inputMemory && (firstTime ? inputMemory : { ...inputMemory, memory: undefined });
        running.spawned!.post({ ...request, id, inputMemory: sentMemory, modules, sharedModules }, transfer);
      } catch (error) {
        if (firstTime) running.memoriesSent.delete(inputMemory.id);
        running.pending.delete(id);
        reject(new PrivkitError('E_WORKER', `a pool call could not be sent to its worker: ${errorText(error)}`, { cause: error }));
      }
    });
  }

  /** Memory `id` is garbage in this thread: the workers holding it drop it. */
  private forget(id: number): void {
    if (this.ended !== undefined) return;
    for (const slot of this.slots) {
      if (!slot.memoriesSent.delete(id)) continue;
      try {
        slot.spawned?.post({ forget: id } satisfies Forget, []);
      } catch {
        // a worker that can not be told is ending: it drops everything
      }
    }
  }

  /** A message from the worker of `slot`: its start, progress, or the reply to one of its parts. */
  private receive(slot: Slot, reply: Reply): void {
    if (reply.kind === 'ready') {
      slot.ready = true;
      slot.thread = reply.thread;
      slot.spawned?.hold(this.active > 0);
      return slot.settleStart();
    }
    if (reply.kind === 'failed') return this.crashed(slot, `its wasm engine failed to load: ${reply.message}`);
    if (reply.kind !== 'progress') slot.memories.delete(reply.id); // the part is over: it holds no scratch slot
    const part = slot.pending.get(reply.id);
    if (part === undefined) {
      // abandoned: the call was cancelled (its part is over once it replies) or the pool ended meanwhile
      if (reply.kind !== 'progress') releaseAbandoned(slot, reply.id);
      return;
    }
    if (reply.kind === 'progress') return part.progress(reply.done);
    slot.pending.delete(reply.id);
    if (reply.kind === 'done') part.resolve(reply);
    else part.reject(fromWorkerError(reply.error, part.elements));
  }

  /** A new worker for index `index`, started after `delay` ms (a respawn's back-off). */
  private spawn(index: number, delay: number): Slot {
    let settle!: (error?: PrivkitError) => void;
    const started = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    started.catch(() => {}); // observed by createPool and by each part
    const slot: Slot = { index, started, ready: false, pending: new Map(), abandoned: new Map(), memories: new Map(), memoriesSent: new Set(), modulesSent: new Set(), settleStart: settle };
    const start = (): void => {
      slot.timer = undefined;
      const events = { message: (data: unknown) => this.receive(slot, data as Reply), crash: (reason: string) => this.crashed(slot, reason) };
      try {
        slot.spawned = platform.spawnPoolWorker(events, this.workerUrl);
      } catch (error) {
        queueMicrotask(() => this.crashed(slot, `the worker could not be created: ${errorText(error)}`));
      }
    };
    if (delay === 0) start();
    else slot.timer = setTimeout(start, delay);
    return slot;
  }

  /**
   * A worker died or failed. One that never started breaks the pool (its script will not load any
   * better the next time); one that crashes MAX_CRASHES times within CRASH_WINDOW_MS breaks it too.
   * Otherwise its parts are rejected and it is respawned after a back-off.
   */
  private crashed(slot: Slot, reason: string): void {
    if (this.ended !== undefined || this.slots[slot.index] !== slot) return;
    if (!slot.ready) {
      const url = this.workerUrl === undefined ? platform.defaultWorkerUrl() : String(this.workerUrl);
      return this.break(`a pool worker failed to start from ${url}: ${reason}`);
    }
    const now = Date.now();
    const recent = this.crashes[slot.index]!.filter((time) => now - time < CRASH_WINDOW_MS);
    recent.push(now);
    this.crashes[slot.index] = recent;
    if (recent.length >= MAX_CRASHES) {
      return this.break(`a pool worker crashed ${recent.length} times within ${CRASH_WINDOW_MS / 1000} s (last: ${reason}); the pool is broken: create a new one`);
    }
    const error = new PrivkitError('E_WORKER', `a pool worker crashed (${reason}); the call was abandoned`);
    for (const part of slot.pending.values()) part.reject(error);
    slot.pending.clear();
    void terminateSlot(slot);
    this.slots[slot.index] = this.spawn(slot.index, RESPAWN_BACKOFF_MS * 4 ** (recent.length - 1));
  }

  /** The pool is broken: calls in flight and later reject with E_WORKER saying why. */
  private break(why: string): void {
    this.end(why, new PrivkitError('E_WORKER', why));
  }

  /**
   * A cancelled call: its parts' replies will be ignored. A worker busy with nothing but the call's
   * parts is ended and replaced, so that the pool is free at once; one that also holds other calls'
   * parts finishes the cancelled work and its result is dropped.
   */
  private cancel(call: Call): void {
    const error = call.cancelled!.error;
    const over: Promise<void>[] = [];
    for (const slot of [...this.slots]) {
      const own: number[] = [];
      let others = false;
      for (const [id, part] of slot.pending) {
        if (part.call !== call) {
          others = true;
          continue;
        }
        own.push(id);
        slot.pending.delete(id);
        part.reject(error);
      }
      if (own.length === 0) continue;
      if (others || this.ended !== undefined) {
        for (const id of own) over.push(new Promise((resolve) => slot.abandoned.set(id, resolve)));
        continue;
      }
      over.push(terminateSlot(slot));
      this.slots[slot.index] = this.spawn(slot.index, 0);
    }
    call.released = Promise.all(over).then(() => {});
  }
}

/** What a request names of its operation: the run a worker looks up (see PoolOperation). */
type Operation = Pick<PoolOperation<never, unknown, unknown, unknown>, 'name' | 'family'>;

/** Ids of the shared wasm memories of inputs sent to workers, numbered in this thread. */
const memoryIds = new WeakMap<WebAssembly.Memory, number>();
let nextMemoryId = 1;

function memoryId(memory: WebAssembly.Memory): number {
  let id = memoryIds.get(memory);
  if (id === undefined) {
    id = nextMemoryId++;
    memoryIds.set(memory, id);
  }
  return id;
}

/**
 * The modules of `compiled` (this thread's) that the worker of `slot` has not been sent yet, then
 * marked sent (under their name + `suffix`: the shared builds are sent apart); undefined when none.
 */
function unsentModules(slot: Slot, compiled: Record<string, WebAssembly.Module>, suffix = ''): Record<string, WebAssembly.Module> | undefined {
  const unsent = Object.entries(compiled).filter(([name]) => !slot.modulesSent.has(name + suffix));
  for (const [name] of unsent) slot.modulesSent.add(name + suffix);
  return unsent.length > 0 ? Object.fromEntries(unsent) : undefined;
}

/** Part `id` of a cancelled call is over on `slot`'s worker (it replied): the call's memory is free of it. */
function releaseAbandoned(slot: Slot, id: number): void {
  slot.abandoned.get(id)?.();
  slot.abandoned.delete(id);
}

/**
 * Terminates the worker of `slot`; the cancelled parts it still ran are over once it has ended, and
 * the scratch slots it may have held in the shared wasm memories of their inputs are freed.
 */
async function terminateSlot(slot: Slot): Promise<void> {
  await slot.spawned?.terminate().catch(() => {});
  if (slot.thread !== undefined) for (const memory of slot.memories.values()) freeSlotsOf(memory, slot.thread);
  slot.memories.clear();
  for (const id of [...slot.abandoned.keys()]) releaseAbandoned(slot, id);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
