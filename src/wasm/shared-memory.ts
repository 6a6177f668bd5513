// Arrays in shared wasm memory, read in place by the kernels of every thread. Where the runtime has
// shared memory (Node; cross-origin-isolated pages), a large shared array (sharedFloat32Array and
// the pool's staging, MIN_WASM_ARRAY_BYTES and up) is allocated in a shared WebAssembly.Memory of
// its own, and a module built for shared memory (scripts/build.mjs: assembly/<name>.ts ->
// <name>-shared, importing its memory, keeping no state in it) is instantiated on that memory by
// each thread that reads the array: the main thread's sync kernels and every pool worker read it
// where it lies, with no copy into a module's private memory. The compiled module is made once per
// thread by ready(), only where the runtime can share memory (its bytes, imported then, are never
// loaded elsewhere), and handed to workers with the other modules (no second compile).
// Why a memory per array rather than one for all: a memory, like a SharedArrayBuffer, lives until no
// view of it remains, so an array's memory is reclaimed by the garbage collector exactly when the
// array and every view made from it (subarray, new Float32Array(x.buffer, ...)) are gone. One memory
// shared by all arrays would need a free() the caller must call, or would free regions still
// reachable through such views.
// Layout of such a memory: [0, STATIC_BYTES) the modules' static data (heapBase at most that; the
// shared builds have none), then the header (Uint32 words: where the scratch regions start, how
// many fit below the memory's maximum, whether each slot was ever used; then, BigInt64, each slot's
// owner), then the array, then the scratch regions, slot i's at a fixed place, SLOT_BYTES each. A
// thread running a kernel on the array takes the first free slot (compare-and-swap of its owner
// from 0 to the thread's random id), runs an arena scope in the slot's region (a read-only pass
// needs a few MiB, see src/kernels/stream.ts) and frees the slot. The memory grows into a region as
// it is used, several threads at once (Arena.alloc grows race-free: see its growTo); slots are
// taken first-free, so the regions used stay few and low.
// When every slot is taken the kernel runs on the thread's private memory through its staging
// window, as it does elsewhere. A worker ended while it holds a slot (an aborted call) cannot free
// it: the pool frees the slots of a worker it ended once it is gone (freeSlotsOf).
// Secrets and the adversary: every thread given the array (the caller's code and the pool's workers,
// all in the caller's process or page) can read all of its memory at any time, during a call too. So
// only what the caller already holds goes there: its array, and the scratch of read-only passes over
// it (norms, scales, weights, column sums of the array: no more than the array tells). Generator
// states, keystream, noise and secret inputs live only in each thread's private memories (the rng,
// dp and paillier modules are never shared), which are zeroed when a call ends as before.
// An array written by another thread during a call is read as it is at each moment (as any shared
// memory read in place): a pass reads each chunk twice (norms, then sums), so a racing writer can
// make a clipped row's contribution differ from the norm it was scaled by. Do not write an array
// while a call reads it.
import { PrivkitError } from '../errors.js';
import { Arena } from './arena.js';
import { arrayPlace, type TypedArray } from './boundary.js';
import { compileSource, kernelFailure, loadWhenReady, type ModuleExports, type WasmSource } from './runtime.js';

const PAGE = 65536;
const MAX_PAGES = 65536;
/** The static data of a module run on a shared memory lies below this (its heapBase). */
const STATIC_BYTES = 16384;
/** Scratch slots of a memory: threads that can run kernels on one array at the same time. */
export const SCRATCH_SLOTS = 32;
/** Bytes of a slot's scratch region (8 MiB). */
export const SLOT_BYTES = 8 << 20;
/** Header words (Uint32): where the scratch regions start, how many slots fit, then whether each slot was ever used. */
const SCRATCH_START = 0;
const USABLE_SLOTS = 1;
const slotUsed = (slot: number) => 2 + slot;
const HEADER_WORDS = 2 + SCRATCH_SLOTS;
/** Then each slot's owner (BigInt64): 0 when free, else the THREAD_ID of the thread that took it. */
const OWNERS_AT = STATIC_BYTES + alignUp(4 * HEADER_WORDS, 8);
/** Where the array starts in its memory. */
const DATA_START = alignUp(OWNERS_AT + 8 * SCRATCH_SLOTS, 64);
/** Smallest array given a wasm memory of its own (1 MiB): below, copying it costs less than a memory. */
export const MIN_WASM_ARRAY_BYTES = 1 << 20;

/**
 * This thread's mark on the slots it takes: random (64 bits), so that no two threads (of any pool,
 * in any worker) share one, and a pool that ended a worker can free the slots it held.
 */
export const THREAD_ID: bigint = randomThreadId();

/** The memory holding each array allocated here (or received from another thread), by its buffer. */
const memories = new WeakMap<ArrayBufferLike, WebAssembly.Memory>();

/**
 * A fresh zeroed shared buffer in a wasm memory of its own, for an array of `bytes` bytes at
 * `byteOffset`; undefined when the runtime cannot make one (no shared wasm memory, or no address
 * space left for another memory): the caller then uses a plain SharedArrayBuffer.
 */
export function wasmSharedBuffer(bytes: number): { buffer: SharedArrayBuffer; byteOffset: number } | undefined {
  const scratch = alignUp(DATA_START + bytes, 64);
  const initial = Math.ceil(scratch / PAGE);
  const maximum = Math.min(MAX_PAGES, initial + (SCRATCH_SLOTS * SLOT_BYTES) / PAGE);
  if (initial >= MAX_PAGES) return undefined;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial, maximum, shared: true });
  } catch {
    return undefined;
  }
  const buffer = memory.buffer as unknown as SharedArrayBuffer;
  const words = header(buffer);
  Atomics.store(words, SCRATCH_START, scratch);
  // slot i's region is [scratch + i SLOT_BYTES, + SLOT_BYTES): only those within the maximum are used
  Atomics.store(words, USABLE_SLOTS, Math.min(SCRATCH_SLOTS, Math.floor((maximum * PAGE - scratch) / SLOT_BYTES)));
  memories.set(buffer, memory);
  return { buffer, byteOffset: DATA_START };
}

/** The wasm memory `array` lies in, when it was allocated by wasmSharedBuffer (here or, adopted, in another thread). */
export function wasmMemoryOf(array: TypedArray): WebAssembly.Memory | undefined {
  return memories.get(arrayPlace(array).buffer);
}

/**
 * In a worker: records that `array`, received from another thread, lies in `memory` (the pool sends
 * an input's memory, as wasmMemoryOf found it, with the input's rows).
 */
export function adoptMemory(array: TypedArray, memory: WebAssembly.Memory): void {
  memories.set(arrayPlace(array).buffer, memory);
}

/** A module built to run on shared memory (assembly/<name>.ts -> <name>-shared), declared by the family that uses it. */
export class SharedWasmModule<K extends ModuleExports> {
  /** The compiled module: compiled once in this thread by ready(), unless another thread handed it over. */
  module: WebAssembly.Module | undefined;
  private loading: Promise<void> | undefined;
  /** This thread's instance of the module on each memory it ran on. */
  private readonly instances = new WeakMap<WebAssembly.Memory, K>();

  constructor(
    readonly name: string,
    private readonly source: WasmSource,
  ) {
    sharedModules.set(name, this);
    loadWhenReady(() => this.load());
  }

  /** Compiles the module where the runtime can share memory (elsewhere no array lies in a shared wasm memory); a failed load may be retried. */
  private load(): Promise<void> {
    if (this.module !== undefined || !canShareMemory()) return Promise.resolve();
    this.loading ??= compileSource(this.source).then(
      (module) => {
        this.module ??= module;
      },
      (cause: unknown) => {
        this.loading = undefined;
        throw cause instanceof PrivkitError ? cause : new PrivkitError('E_WASM', `could not compile the ${this.name} wasm module for shared memory: ${String(cause)}`, { cause });
      },
    );
    return this.loading;
  }

  /** Uses `module`, compiled by another thread, instead of compiling one (a worker gets it with its first request). */
  adopt(module: WebAssembly.Module): void {
    if (this.module === undefined && module instanceof WebAssembly.Module) this.module = module;
  }

  /**
   * Runs `body` on the memory `array` lies in, with this thread's instance on it, an arena scope in
   * a free scratch slot and the array's address: `{ value }` of its result. Undefined when the array
   * lies in no wasm memory, the module is not compiled in this thread yet (ready() compiles it) or
   * every slot is taken (the caller then stages it). A trap becomes E_WASM.
   */
  runInPlace<T>(array: TypedArray, body: (kernels: K, arena: Arena, ptr: number) => T): { value: T } | undefined {
    const { buffer: arrayBuffer, byteOffset } = arrayPlace(array);
    const memory = memories.get(arrayBuffer);
    const module = this.module;
    if (memory === undefined || module === undefined) return undefined;
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    const words = header(buffer);
    const slot = takeSlot(words, owners(buffer));
    if (slot === undefined) return undefined;
    try {
      Atomics.store(words, slotUsed(slot), 1);
      const arena = new Arena(memory, Atomics.load(words, SCRATCH_START) + slot * SLOT_BYTES, SLOT_BYTES);
      const mark = arena.open();
      try {
        return { value: body(this.instanceOn(module, memory), arena, byteOffset) };
      } finally {
        arena.close(mark);
      }
    } catch (error) {
      throw kernelFailure(error);
    } finally {
      Atomics.store(owners(buffer), slot, 0n);
    }
  }

  private instanceOn(module: WebAssembly.Module, memory: WebAssembly.Memory): K {
    let kernels = this.instances.get(memory);
    if (kernels === undefined) {
      kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as K;
      if (kernels.heapBase() > STATIC_BYTES) {
        throw new PrivkitError('E_WASM', `the ${this.name} module's static data (${kernels.heapBase()} bytes) does not fit a shared memory's ${STATIC_BYTES}`);
      }
      this.instances.set(memory, kernels);
    }
    return kernels;
  }
}

/** The shared modules declared in this thread, by name. */
const sharedModules = new Map<string, SharedWasmModule<ModuleExports>>();

/** The compiled shared modules of this thread, by name: sent to a worker with its first request. */
export function compiledSharedModules(): Record<string, WebAssembly.Module> {
  const compiled: Record<string, WebAssembly.Module> = {};
  for (const [name, module] of sharedModules) if (module.module !== undefined) compiled[name] = module.module;
  return compiled;
}

/** In a worker: uses the modules another thread compiled (see compiledSharedModules), for those declared here. */
export function adoptSharedModules(modules: Record<string, WebAssembly.Module>): void {
  for (const [name, module] of Object.entries(modules)) sharedModules.get(name)?.adopt(module);
}

/** The scratch slots of the memory of `array`: how many are taken now, and how many ever got a region (for tests). */
export function scratchSlots(array: TypedArray): { inUse: number; assigned: number } {
  const memory = wasmMemoryOf(array);
  const slots = { inUse: 0, assigned: 0 };
  if (memory === undefined) return slots;
  const buffer = memory.buffer as unknown as SharedArrayBuffer;
  const words = header(buffer);
  const taken = owners(buffer);
  for (let slot = 0; slot < SCRATCH_SLOTS; slot++) {
    if (Atomics.load(taken, slot) !== 0n) slots.inUse++;
    slots.assigned += Atomics.load(words, slotUsed(slot));
  }
  return slots;
}

/**
 * Frees the slots of `memory` that the thread `owner` holds: called by a pool once it has ended that
 * worker (an aborted call ends a worker in the middle of its part), so no thread uses them any more.
 */
export function freeSlotsOf(memory: WebAssembly.Memory, owner: bigint): void {
  const taken = owners(memory.buffer as unknown as SharedArrayBuffer);
  for (let slot = 0; slot < SCRATCH_SLOTS; slot++) Atomics.compareExchange(taken, slot, owner, 0n);
}

/** Takes the first free slot (compare-and-swap of its owner 0 -> THREAD_ID), or undefined when all are taken. */
function takeSlot(words: Uint32Array, taken: BigInt64Array): number | undefined {
  const usable = Atomics.load(words, USABLE_SLOTS);
  for (let slot = 0; slot < usable; slot++) {
    if (Atomics.compareExchange(taken, slot, 0n, THREAD_ID) === 0n) return slot;
  }
  return undefined;
}

function header(buffer: SharedArrayBuffer): Uint32Array {
  return new Uint32Array(buffer, STATIC_BYTES, HEADER_WORDS);
}

function owners(buffer: SharedArrayBuffer): BigInt64Array {
  return new BigInt64Array(buffer, OWNERS_AT, SCRATCH_SLOTS);
}

function randomThreadId(): bigint {
  const id = crypto.getRandomValues(new BigInt64Array(1))[0]!;
  return id === 0n ? 1n : id;
}

/**
 * Whether this runtime shares memory between threads (Node; cross-origin-isolated pages and their
 * workers), as the platform's canShareMemory says, read here without `#platform`: a worker's module
 * graph holds relative imports only (see src/pool/port.ts).
 */
function canShareMemory(): boolean {
  return typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
