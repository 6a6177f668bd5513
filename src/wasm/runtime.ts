// Loads the embedded wasm module once per thread and runs kernel calls inside an arena scope.
// Traps (WebAssembly.RuntimeError) become PrivkitError E_WASM; the arena is released either way,
// so a failed call leaves the engine ready for the next one.
// WebAssembly memory can grow but never shrink. A call that left memory above RETAINED_BYTES (only
// unusual calls do: kernels stage their data through windows of about 1 MiB) makes the engine
// replace its instance by a fresh one, compiled module reused, as soon as the thread is idle (after
// the current task): the old instance and its memory are then garbage. Kernels keep no state in
// wasm memory between calls, so the swap is invisible except for the memory it frees.
import { PrivkitError } from '../errors.js';
import { instantiate } from './generated/bindings.js';
import { WASM_BASE64 } from './generated/wasm-base64.js';
import { Arena } from './arena.js';

export type Kernels = Awaited<ReturnType<typeof instantiate>>;

interface Engine {
  module: WebAssembly.Module;
  kernels: Kernels;
  arena: Arena;
}

/** Wasm memory a thread keeps after a call (16 MiB); above it the instance is renewed when idle. */
export const RETAINED_BYTES = 16 << 20;

let engine: Engine | undefined;
let loading: Promise<void> | undefined;
let renewing: Promise<void> | undefined;

/**
 * Compiles and instantiates the wasm module (once per thread). Every sync kernel needs this first;
 * later calls return the same promise, and a failed load may be retried by calling again.
 *
 * @throws {PrivkitError} E_WASM (as a rejection) when the runtime lacks WebAssembly or fixed-width SIMD, or the module fails to instantiate.
 *
 * @example
 * ```ts
 * import { ready, l2Norms } from 'privkit';
 * await ready();
 * const norms = l2Norms(new Float32Array([3, 4, 6, 8]), 2); // [5, 10]
 * ```
 */
export function ready(): Promise<void> {
  loading ??= load().catch((cause: unknown) => {
    loading = undefined;
    throw cause instanceof PrivkitError
      ? cause
      : new PrivkitError('E_WASM', `could not instantiate the wasm module: ${String(cause)}`, { cause });
  });
  return loading;
}

async function load(): Promise<void> {
  const bytes = decodeBase64(WASM_BASE64);
  if (!WebAssembly.validate(bytes)) {
    throw new PrivkitError('E_WASM', 'this runtime does not support WebAssembly SIMD (fixed-width v128)');
  }
  engine = await newEngine(await WebAssembly.compile(bytes));
}

async function newEngine(module: WebAssembly.Module): Promise<Engine> {
  const kernels = await instantiate(module, {});
  return { module, kernels, arena: new Arena(kernels.memory, kernels.heapBase()) };
}

/** Swaps in a fresh instance once it is ready (no call can be in progress then: calls are synchronous). */
function renew(module: WebAssembly.Module): void {
  renewing ??= newEngine(module)
    .then((fresh) => {
      if (engine?.arena.idle === true) engine = fresh;
    })
    .catch(() => {}) // keep the current instance
    .finally(() => {
      renewing = undefined;
    });
}

/** Resolves when a pending renewal of the instance (see the header) is done: for tests. */
export function settled(): Promise<void> {
  return renewing ?? Promise.resolve();
}

export function isReady(): boolean {
  return engine !== undefined;
}

/**
 * Runs `body` with the kernels and the arena; memory allocated inside is released afterwards.
 * `body` must not keep arena views past its return.
 */
export function withWasm<T>(body: (kernels: Kernels, arena: Arena) => T): T {
  if (engine === undefined) {
    throw new PrivkitError('E_NOT_READY', 'call `await ready()` before using the sync kernels');
  }
  const { module, kernels, arena } = engine;
  const mark = arena.open();
  try {
    return body(kernels, arena);
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) {
      throw new PrivkitError('E_WASM', `wasm kernel failed: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    arena.close(mark);
    if (arena.idle && arena.memoryBytes > RETAINED_BYTES) renew(module);
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
