// The contract between the pool (src/pool/, which knows no family) and the families' pooled
// operations (listed in src/registry.ts). An operation is three functions in two files: `plan` on
// the caller's thread checks the arguments as the sync API does and describes the work, and `merge`
// there makes the call's result of the parts' results (the PoolOperation, in the family's
// pool-ops.ts); `run` in a worker does one part of the work through the family's sync code (a
// PartRun, in the family's pool-run.ts under the operation's name). Apart, each thread loads only
// its half: a page never loads the workers' run code, a worker never loads the plans and merges.
// The pool cuts the work into parts, moves the memory (shared in place, staged into shared memory,
// or transferred), carries errors back and replaces crashed workers. Families see only these types
// and the runner.
import type { FloatArray } from '../validate.js';

/** A contiguous range of the work's rows handed to one worker. */
export interface Part {
  row: number;
  rows: number;
}

/** Element type of an array the parts write. */
export type FloatDtype = 'float32' | 'float64';

/** An array of rows x `cols` values that the parts read, each its own rows. */
export interface PlanInput {
  /** The argument's name: errors from a part naming it get their index moved to the caller's array. */
  name: string;
  array: FloatArray;
  cols: number;
}

/** An array of rows x `cols` values that the parts write, each its own rows. */
export interface PlanOutput {
  dtype: FloatDtype;
  cols: number;
  /** Where the result goes (checked by the plan); default a new array, on shared memory where the runtime has it. */
  target?: FloatArray;
  /** The parts write into their rows of the input (the target is the input array). */
  inPlace?: boolean;
  /** The target is written only when every part succeeded (a failed call leaves it unchanged). */
  allOrNothing?: boolean;
}

/** The work of one call, as planned on the caller's thread. */
export interface Plan<Task> {
  /** Units of work (rows, elements, ciphertexts, trials, clients), cut into one contiguous part per worker. */
  rows: number;
  input?: PlanInput;
  output?: PlanOutput;
  /**
   * What the worker of `part` needs besides its rows of input and output (structured-cloned). Buffers
   * pushed onto `transfer` are moved to the worker instead of copied: only fresh copies made for it.
   */
  task(part: Part, transfer: ArrayBuffer[]): Task;
}

/** A part's rows of the planned input and output, as the worker sees them. */
export interface PartMemory {
  input?: FloatArray;
  /** The input itself when the plan writes in place. */
  output?: FloatArray;
}

/** The caller's thread's half of a pooled operation; its worker half is the PartRun of the same name. */
export interface PoolOperation<Args extends unknown[], Task, PartResult, Result, P extends Plan<Task> = Plan<Task>> {
  /** The name the operation is exported and registered under (src/registry.ts); with `family`, how a worker finds its PartRun. */
  readonly name: string;
  /** The family it is registered under (src/registry.ts), whose pool-run file a worker imports for its PartRun. */
  readonly family: string;
  /** Caller's thread: the checks of the sync API (the same code, so the same errors), then the work. */
  plan(...args: Args): P;
  /** Caller's thread: the call's result from the parts' results (in order) and the planned output, when there is one. */
  merge(results: PartResult[], plan: P, output: FloatArray | undefined): Result;
}

/**
 * Worker: one part of the operation of the same name through the family's sync code. Fresh arrays
 * in the result are moved back, not copied. An operation whose part takes long calls `progress` with
 * the units of its part done so far (the pool throttles and adds them up for the caller's onProgress).
 */
export type PartRun<Task, PartResult> = (task: Task, memory: PartMemory, progress: (done: number) => void) => PartResult | Promise<PartResult>;

/** Cancellation and progress of one pool call (or of a longer operation made of pool calls). */
export interface CallOptions {
  /**
   * Aborting it rejects the call with a PrivkitError E_ABORTED whose `cause` is `signal.reason`; the
   * pool keeps serving (a worker busy with only the aborted call's work is ended and replaced).
   */
  signal?: AbortSignal;
  /**
   * Called as the work advances with the units done and the total (rows, elements, ciphertexts,
   * clients, trials or rounds, as the operation counts them). If it throws, the call rejects with
   * that error, as if aborted.
   */
  onProgress?: (done: number, total: number) => void;
}

/** What runs pooled operations: a Pool from createPool(), as the families that take `{ pool }` see it. */
export interface PoolRunner {
  /** Number of worker threads. */
  readonly threads: number;
  /** Runs a registered operation: plan on this thread, run its parts on the workers, merge the results. */
  run<Args extends unknown[], Result>(operation: PoolOperation<Args, unknown, unknown, Result, Plan<unknown>>, ...args: Args): Promise<Result>;
  /** As run, with cancellation and progress (`call` is checked: E_ARG naming `call.signal` or `call.onProgress`). */
  runWith<Args extends unknown[], Result>(call: CallOptions | undefined, operation: PoolOperation<Args, unknown, unknown, Result, Plan<unknown>>, ...args: Args): Promise<Result>;
}
