// Random number generators for privacy: ChaCha20 (RFC 8439) run in wasm. By default keyed with 256
// bits from crypto.getRandomValues (a CSPRNG, independent per generator, thread and worker); with a
// seed it is a reproducible PRG (tests, simulations, secure-aggregation masks) that must never be
// used to release data.
// A generator's state (key, counter and buffered keystream) lives in JS between calls. A call copies
// it into wasm memory, runs, copies the advanced state back and zeroes the wasm copy, the output
// staging and the kernels' scratch blocks: no key or keystream byte stays in wasm memory.
import { PrivkitError } from '../errors.js';
import { assertFunction, assertInteger, describe, readOptions } from '../validate.js';
import type { Arena } from '../wasm/arena.js';
import { checkTypedArray, currentLength, StagingWindow } from '../wasm/boundary.js';
import { byteRegion } from '../wasm/snapshot.js';
import { isWasmModule, withWasm, type ModuleExports, type WasmModule } from '../wasm/runtime.js';
import { rngWasm, type RngExports } from './wasm.js';

/**
 * A ChaCha20 random generator made by {@link createRng}: a CSPRNG by default, a reproducible PRG when
 * seeded. Every noise sampler takes one as `opts.rng`.
 */
export interface Rng {
  /** True when seeded: the same seed and stream give the same output. Not for releasing data. */
  readonly reproducible: boolean;
  /**
   * n keystream bytes.
   *
   * @throws {PrivkitError} E_ARG when n is not an integer in [0, 2^28]; E_NOT_READY before `await ready()`.
   */
  bytes(n: number): Uint8Array;
  /**
   * Overwrites the bytes of `out` with keystream and returns it (no allocation).
   *
   * @throws {PrivkitError} E_ARG when out is not an attached Uint8Array, Uint16Array, Uint32Array or Int32Array; E_NOT_READY before `await ready()`.
   */
  fill<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(out: T): T;
  /**
   * n uniform 32-bit integers (the keystream read as little-endian words).
   *
   * @throws {PrivkitError} E_ARG when n is not an integer in [0, 2^28]; E_NOT_READY before `await ready()`.
   */
  uint32(n: number): Uint32Array;
  /**
   * n doubles uniform in (0, 1), every double of the interval reachable with its probability.
   *
   * @throws {PrivkitError} E_ARG when n is not an integer in [0, 2^28]; E_NOT_READY before `await ready()`.
   */
  uniform(n: number): Float64Array;
  /**
   * Runs `body` with this generator's state copied into the memory of the wasm module `wasm` at
   * `g` (for samplers written as wasm kernels of that module); the advanced state is kept
   * afterwards, also when `body` throws, so keystream drawn by a failed call (noise it may already
   * have written out) is never drawn again.
   *
   * @internal
   */
  withGenerator<K extends GeneratorExports, T>(wasm: WasmModule<K>, body: (kernels: K, g: number, arena: Arena) => T): T;
}

/** The exports of a wasm module that holds generators (assembly/dp/rng.ts compiled in): it wipes its scratch blocks. */
export interface GeneratorExports extends ModuleExports {
  wipeScratch(): void;
}

/** Options of {@link createRng}. */
export interface RngOptions {
  /** 32-byte key: makes the generator reproducible (and not for releases). Default: a fresh random key from `crypto.getRandomValues`. */
  seed?: Uint8Array;
  /** Stream id (0 <= stream < 2^53): independent streams under one seed, e.g. one per worker. Default 0. */
  stream?: number;
}

/** Bytes of one generator state (assembly/dp/rng.ts). */
export const GENERATOR_BYTES = 336;
const BUFFER_BYTES = 256;
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]; // "expand 32-byte k"
/** Largest n of bytes, uint32 and uniform (elements of one call's new array). */
export const MAX_RNG_LENGTH = 2 ** 28;

/** The generators made by createRng (kernels run only with these: see isRng). */
const generators = new WeakSet<object>();

/**
 * Makes a ChaCha20 generator (RFC 8439) run in wasm. Without a seed it is keyed with 256 bits from
 * `crypto.getRandomValues` (a CSPRNG, independent per call); with `opts.seed` it is a reproducible
 * PRG for tests and simulations, whose output must never protect released data.
 *
 * @param opts - the seed and stream id (both optional).
 * @throws {PrivkitError} E_ARG when opts is not an object, seed is not an attached Uint8Array of 32 bytes, or stream is not a safe integer >= 0.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { createRng, gaussianNoise } from 'privkit/dp';
 * await ready();
 * const rng = createRng(); // CSPRNG-keyed: for noise that protects released data
 * const noise = gaussianNoise(4, 1.5, { rng });
 * const test = createRng({ seed: new Uint8Array(32) }); // reproducible: tests only
 * console.log(test.reproducible, test.uint32(2));
 * ```
 */
export function createRng(opts: RngOptions = {}): Rng {
  const { seed, stream: streamOption } = readOptions(opts, ['seed', 'stream']);
  const key = seed === undefined ? undefined : checkTypedArray('seed', seed, ['Uint8Array']);
  if (key !== undefined && currentLength(key) !== 32) {
    throw new PrivkitError('E_ARG', `seed must be a Uint8Array of 32 bytes, got ${describe(seed)}`, { argument: 'seed' });
  }
  const stream = streamOption === undefined ? 0 : assertInteger('stream', streamOption);
  if (key !== undefined) return register(new ChaChaRng(byteRegion(key, 0, 32, 'seed'), stream, true));
  const random = crypto.getRandomValues(new Uint8Array(32));
  const rng = new ChaChaRng(random, stream, false);
  random.fill(0);
  return register(rng);
}

function register(rng: ChaChaRng): Rng {
  generators.add(rng);
  return rng;
}

/** True for a generator made by createRng (not an object that only looks like one). */
export function isRng(value: unknown): value is Rng {
  return typeof value === 'object' && value !== null && generators.has(value);
}

function checkLength(n: unknown): number {
  const length = assertInteger('n', n);
  if (length > MAX_RNG_LENGTH) throw new PrivkitError('E_ARG', `n must be <= 2^28, got ${length}`, { argument: 'n' });
  return length;
}

/**
 * The initial state of the generator with a 32-byte `key` and stream id `stream` (0 <= stream < 2^53),
 * laid out as assembly/dp/rng.ts reads it (GENERATOR_BYTES bytes): block counter 0, empty buffer.
 */
export function generatorState(key: Uint8Array, stream: number): Uint8Array {
  const state = new Uint8Array(GENERATOR_BYTES);
  const words = new DataView(state.buffer);
  SIGMA.forEach((word, i) => words.setUint32(4 * i, word, true));
  state.set(key, 16);
  // words 12-13: block counter 0; words 14-15: the stream id
  words.setUint32(56, stream % 2 ** 32, true);
  words.setUint32(60, Math.floor(stream / 2 ** 32), true);
  words.setUint32(320, BUFFER_BYTES, true); // empty buffer
  return state;
}

class ChaChaRng implements Rng {
  private readonly generator: Uint8Array;

  constructor(
    key: Uint8Array,
    stream: number,
    readonly reproducible: boolean,
  ) {
    this.generator = generatorState(key, stream);
  }

  bytes(n: number): Uint8Array {
    return this.fill(new Uint8Array(checkLength(n)));
  }

  uint32(n: number): Uint32Array {
    return this.fill(new Uint32Array(checkLength(n)));
  }

  fill<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(out: T): T {
    checkTypedArray('out', out, ['Uint8Array', 'Uint16Array', 'Uint32Array', 'Int32Array']);
    this.generate(byteRegion(out, 0, currentLength(out), 'out'), 1, (kernels, g, ptr, count) => kernels.chachaBytes(g, ptr, count));
    return out;
  }

  uniform(n: number): Float64Array {
    const out = new Float64Array(checkLength(n));
    this.generate(out, 8, (kernels, g, ptr, count) => kernels.uniformDoubles(g, ptr, count));
    return out;
  }

  withGenerator<K extends GeneratorExports, T>(wasm: WasmModule<K>, body: (kernels: K, g: number, arena: Arena) => T): T {
    if (!isWasmModule(wasm)) {
      throw new PrivkitError('E_ARG', `wasm must be one of the engine's wasm modules, got ${describe(wasm)}`, { argument: 'wasm' });
    }
    const inner = assertFunction<typeof body>('body', body);
    return this.run(wasm, (kernels, g, arena) => {
      if (typeof kernels.wipeScratch !== 'function') {
        throw new PrivkitError('E_ARG', `wasm must be a module with generator kernels, got the ${wasm.name} module`, { argument: 'wasm' });
      }
      try {
        return inner(kernels, g, arena);
      } finally {
        kernels.wipeScratch(); // the samplers stage keystream in the module's scratch blocks
      }
    });
  }

  /**
   * Runs `body` with the state in secret memory of the module `wasm` at g, then saves the advanced
   * state (also when `body` throws).
   */
  private run<K extends ModuleExports, T>(wasm: WasmModule<K>, body: (kernels: K, g: number, arena: Arena) => T): T {
    return withWasm(wasm, (kernels, arena) => {
      const g = arena.allocSecret(GENERATOR_BYTES);
      arena.bytes(g, GENERATOR_BYTES).set(this.generator);
      try {
        return body(kernels, g, arena);
      } finally {
        this.generator.set(arena.bytes(g, GENERATOR_BYTES));
      }
    });
  }

  /**
   * Fills `out` (elements of `elementBytes`: the call's own array, or a checked view of the caller's)
   * chunk by chunk through a secret staging window of the rng module: `kernel` writes `count`
   * elements at `ptr` (the module has no scratch blocks).
   */
  private generate(
    out: Uint8Array | Float64Array,
    elementBytes: number,
    kernel: (kernels: RngExports, g: number, ptr: number, count: number) => void,
  ): void {
    const length = out.length;
    this.run(rngWasm, (kernels, g, arena) => {
      const window = new StagingWindow(arena, elementBytes, length, true);
      window.stream(length, { output: { array: out, name: 'out' } }, (ptr, count) => kernel(kernels, g, ptr, count));
    });
  }
}
