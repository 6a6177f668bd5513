// Loads the embedded wasm module once per thread and runs kernel calls inside an arena scope.
// Traps (WebAssembly.RuntimeError) become PrivkitError E_WASM; the arena is released either way,
// so a failed call leaves the engine ready for the next one.
import { PrivkitError } from '../errors.js';
import { instantiate } from './generated/bindings.js';
import { WASM_BASE64 } from './generated/wasm-base64.js';
import { Arena } from './arena.js';

export type Kernels = Awaited<ReturnType<typeof instantiate>>;

interface Engine {
  kernels: Kernels;
  arena: Arena;
}

let engine: Engine | undefined;
let loading: Promise<void> | undefined;

/** Compiles and instantiates the wasm module (once per thread). Every sync kernel needs this first. */
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
  const module = await WebAssembly.compile(bytes);
  const kernels = await instantiate(module, {});
  engine = { kernels, arena: new Arena(kernels.memory, kernels.heapBase()) };
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
  const { kernels, arena } = engine;
  const mark = arena.mark();
  try {
    return body(kernels, arena);
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) {
      throw new PrivkitError('E_WASM', `wasm kernel failed: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    arena.release(mark);
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
