// Memory manager for wasm linear memory: a bump arena above the module's static data.
// Each kernel call opens a scope, allocates its buffers, and closes the scope, which releases them,
// so repeated calls reuse the same bytes and memory grows only for a larger call than any before.
// One call (the outermost scope and everything nested in it) may allocate at most MAX_CALL_BYTES:
// kernels stage their data through bounded windows, so this is a backstop, not a working limit.
// Regions allocated as secret (generator states, keystream, secret inputs) are zeroed when their
// scope closes, also when the call fails. Views are created on demand from the current
// `memory.buffer`, so growth never leaves a stale view. An arena may also run in a region of a shared
// memory that other threads grow at the same time (src/wasm/shared-memory.ts): it grows it race-free.
import { PrivkitError } from '../errors.js';

const PAGE = 65536;
const ALIGN = 16;
const MAX_BYTES = 65536 * PAGE;

/** The most wasm memory one call may allocate: 64 MiB (the staging windows of a call take a few MiB). */
export const MAX_CALL_BYTES = 64 << 20;

export class Arena {
  private top: number;
  private depth = 0;
  /** The top when the outermost open scope was opened. */
  private callStart: number;
  /** Start and end of each live secret region, in allocation order (so a closing scope's are last). */
  private readonly secrets: number[] = [];

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
    private readonly maxCallBytes = MAX_CALL_BYTES,
  ) {
    this.top = alignUp(base);
    this.callStart = this.top;
  }

  /** Reserves `bytes` bytes (16-byte aligned) and returns their address. Contents are unspecified. */
  alloc(bytes: number): number {
    const ptr = this.top;
    const end = alignUp(ptr + bytes);
    if (end > MAX_BYTES) throw new PrivkitError('E_WASM', `wasm memory limit (4 GiB): cannot allocate ${bytes} more bytes`);
    if (end - this.callStart > this.maxCallBytes) {
      throw new PrivkitError(
        'E_OVERFLOW',
        `one call may allocate at most ${this.maxCallBytes / 2 ** 20} MiB of wasm memory; ${bytes} more bytes would pass it`,
      );
    }
    growTo(this.memory, end);
    this.top = end;
    return ptr;
  }

  /** As `alloc`, for data that must not outlive the call: the region is zeroed when its scope closes. */
  allocSecret(bytes: number): number {
    const ptr = this.alloc(bytes);
    // never joined to the previous region: that one may belong to an enclosing scope, and a joined
    // region would start below this scope's mark and outlive its close
    this.secrets.push(ptr, this.top);
    return ptr;
  }

  allocF32(length: number): number {
    return this.alloc(length * 4);
  }

  /** A view of `length` elements of the typed array type `type` at `ptr`. */
  view<T>(type: new (buffer: ArrayBuffer, byteOffset: number, length: number) => T, ptr: number, length: number): T {
    return new type(this.memory.buffer, ptr, length);
  }

  bytes(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }

  /** The current top (the next allocation's address). */
  mark(): number {
    return this.top;
  }

  /** Opens a scope; returns the mark that `close` takes. */
  open(): number {
    if (this.depth++ === 0) this.callStart = this.top;
    return this.top;
  }

  /** Closes the scope opened at `mark`: zeroes its secret regions and releases everything allocated since. */
  close(mark: number): void {
    const secrets = this.secrets;
    while (secrets.length > 0 && secrets[secrets.length - 2]! >= mark) {
      const end = secrets.pop()!;
      const start = secrets.pop()!;
      this.bytes(start, end - start).fill(0);
    }
    this.top = mark;
    this.depth--;
  }

  /** True outside every scope (no call in progress). */
  get idle(): boolean {
    return this.depth === 0;
  }

  /** Current size of linear memory in bytes (for tests that check calls do not leak). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }
}

/**
 * Grows `memory` to at least `bytes` bytes. Race-free on a shared memory that several threads grow
 * at once: each growth is sized from the length read just before it, so a racing thread's growth
 * makes this one larger than needed (by at most its own shortfall), never too small; a growth
 * refused because racing ones reached the maximum is retried from the new length.
 */
function growTo(memory: WebAssembly.Memory, bytes: number): void {
  for (let size = memory.buffer.byteLength; size < bytes; size = memory.buffer.byteLength) {
    try {
      memory.grow(Math.ceil((bytes - size) / PAGE));
    } catch (error) {
      if (memory.buffer.byteLength === size) throw error;
    }
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
