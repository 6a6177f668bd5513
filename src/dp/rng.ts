// Random number generators for privacy: ChaCha20 (RFC 8439) run in wasm. By default keyed with 256
// bits from crypto.getRandomValues (a CSPRNG, independent per generator, thread and worker); with a
// seed it is a reproducible PRG (tests, simulations, secure-aggregation masks) that must never be
// used to release data.
import { PrivkitError } from '../errors.js';
import { assertInteger, describe } from '../validate.js';
import type { Arena } from '../wasm/arena.js';
import { withWasm, type Kernels } from '../wasm/runtime.js';

export interface Rng {
  /** True when seeded: the same seed and stream give the same output. Not for releasing data. */
  readonly reproducible: boolean;
  /** n keystream bytes. */
  bytes(n: number): Uint8Array;
  /** Overwrites the bytes of `out` with keystream and returns it (no allocation). */
  fill<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(out: T): T;
  /** n uniform 32-bit integers (the keystream read as little-endian words). */
  uint32(n: number): Uint32Array;
  /** n doubles uniform in (0, 1), every double of the interval reachable with its probability. */
  uniform(n: number): Float64Array;
  /**
   * Runs `body` with this generator's state copied into wasm memory at `g` (for samplers written
   * as wasm kernels); the advanced state is kept afterwards, also when `body` throws, so keystream
   * drawn by a failed call (noise it may already have written out) is never drawn again.
   */
  withGenerator<T>(body: (kernels: Kernels, g: number, arena: Arena) => T): T;
}

export interface RngOptions {
  /** 32-byte key: makes the generator reproducible (and not for releases). */
  seed?: Uint8Array;
  /** Stream id (0 <= stream < 2^53): independent streams under one seed, e.g. one per worker. */
  stream?: number;
}

const GENERATOR_BYTES = 336;
const BUFFER_BYTES = 256;
/** Output produced per wasm call, so large requests never grow wasm memory. */
const CHUNK_BYTES = 1 << 20;
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]; // "expand 32-byte k"

export function createRng(opts: RngOptions = {}): Rng {
  const seed = opts.seed;
  if (seed !== undefined && !(seed instanceof Uint8Array && seed.length === 32)) {
    throw new PrivkitError('E_ARG', `seed must be a Uint8Array of 32 bytes, got ${describe(seed)}`, { argument: 'seed' });
  }
  const stream = opts.stream === undefined ? 0 : assertInteger('stream', opts.stream);
  const key = seed ?? crypto.getRandomValues(new Uint8Array(32));
  return new ChaChaRng(key, stream, seed !== undefined);
}

class ChaChaRng implements Rng {
  private readonly generator = new Uint8Array(GENERATOR_BYTES);

  constructor(
    key: Uint8Array,
    stream: number,
    readonly reproducible: boolean,
  ) {
    const words = new DataView(this.generator.buffer);
    SIGMA.forEach((word, i) => words.setUint32(4 * i, word, true));
    this.generator.set(key, 16);
    // words 12-13: block counter 0; words 14-15: the stream id
    words.setUint32(56, stream % 2 ** 32, true);
    words.setUint32(60, Math.floor(stream / 2 ** 32), true);
    words.setUint32(320, BUFFER_BYTES, true); // empty buffer
  }

  bytes(n: number): Uint8Array {
    return this.fill(new Uint8Array(assertInteger('n', n)));
  }

  uint32(n: number): Uint32Array {
    return this.fill(new Uint32Array(assertInteger('n', n)));
  }

  fill<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(out: T): T {
    if (!(out instanceof Uint8Array || out instanceof Uint16Array || out instanceof Uint32Array || out instanceof Int32Array)) {
      throw new PrivkitError('E_ARG', `out must be an integer typed array, got ${describe(out)}`, { argument: 'out' });
    }
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    this.generate(bytes, 1, (kernels, g, ptr, count) => kernels.chachaBytes(g, ptr, count));
    return out;
  }

  uniform(n: number): Float64Array {
    const out = new Float64Array(assertInteger('n', n));
    this.generate(out, 8, (kernels, g, ptr, count) => kernels.uniformDoubles(g, ptr, count));
    return out;
  }

  withGenerator<T>(body: (kernels: Kernels, g: number, arena: Arena) => T): T {
    return withWasm((kernels, arena) => {
      const g = arena.alloc(GENERATOR_BYTES);
      arena.bytes(g, GENERATOR_BYTES).set(this.generator);
      try {
        return body(kernels, g, arena);
      } finally {
        this.generator.set(arena.bytes(g, GENERATOR_BYTES));
      }
    });
  }

  /** Fills `out` chunk by chunk: `kernel` writes `count` elements of `elementBytes` at `ptr`. */
  private generate(
    out: Uint8Array | Float64Array,
    elementBytes: number,
    kernel: (kernels: Kernels, g: number, ptr: number, count: number) => void,
  ): void {
    const perChunk = CHUNK_BYTES / elementBytes;
    this.withGenerator((kernels, g, arena) => {
      const ptr = arena.alloc(Math.min(out.length, perChunk) * elementBytes);
      for (let start = 0; start < out.length; start += perChunk) {
        const count = Math.min(perChunk, out.length - start);
        kernel(kernels, g, ptr, count);
        new Uint8Array(out.buffer, out.byteOffset + start * elementBytes, count * elementBytes).set(
          arena.bytes(ptr, count * elementBytes),
        );
      }
    });
  }
}
