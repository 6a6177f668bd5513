// Memory manager for wasm linear memory: a bump arena above the module's static data.
// Each kernel call takes a mark, allocates its buffers, and releases back to the mark, so
// repeated calls reuse the same bytes and memory grows only for a larger call than any before.
// Views are created on demand from the current `memory.buffer`, so growth never leaves a stale view.
import { PrivkitError } from '../errors.js';

const PAGE = 65536;
const ALIGN = 16;
const MAX_BYTES = 65536 * PAGE;

export class Arena {
  private top: number;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = alignUp(base);
  }

  /** Reserves `bytes` bytes (16-byte aligned) and returns their address. Contents are unspecified. */
  alloc(bytes: number): number {
    const ptr = this.top;
    const end = alignUp(ptr + bytes);
    if (end > MAX_BYTES) throw new PrivkitError('E_WASM', `wasm memory limit (4 GiB): cannot allocate ${bytes} more bytes`);
    const size = this.memory.buffer.byteLength;
    if (end > size) this.memory.grow(Math.ceil((end - size) / PAGE));
    this.top = end;
    return ptr;
  }

  allocF32(length: number): number {
    return this.alloc(length * 4);
  }

  /** Allocates `length` float64 values set to zero. */
  allocZeroF64(length: number): number {
    const ptr = this.alloc(length * 8);
    this.f64(ptr, length).fill(0);
    return ptr;
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

  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  /** Current size of linear memory in bytes (for tests that check calls do not leak). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
