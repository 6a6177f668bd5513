// Memory discipline of the sync kernels: every call releases what it allocated (the arena top and
// the wasm memory size are unchanged after warm-up), memory grows only for a larger call than any
// before and stays correct after growth, and a wasm trap becomes E_WASM without breaking the engine.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clipAndSum,
  clipByL2,
  clipPerLayer,
  clipValues,
  l2Norms,
  mean,
  PrivkitError,
  ready,
  sum,
  weightedMean,
} from 'privkit';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { Arena } from '../../dist/src/wasm/arena.js';
import { kernelsWasm } from '../../dist/src/kernels/wasm.js';
import { catchPrivkitError, expectPrivkitError, expectRelClose, randomMatrix } from '../support/helpers.js';

/** Size of wasm linear memory in bytes. */
const memoryBytes = (): number => runtime.withWasm(kernelsWasm, (_kernels, arena) => arena.memoryBytes);
/** The arena's free pointer outside any call (a leak would leave it higher). */
const arenaTop = (): number => runtime.withWasm(kernelsWasm, (_kernels, arena) => arena.mark());

beforeAll(async () => {
  await ready();
});

it('the test reaches the same engine instance as the package', () => {
  expect(runtime.isReady()).toBe(true);
  expect(memoryBytes()).toBeGreaterThan(0);
  expect(memoryBytes() % 65536).toBe(0);
});

/** One call of every public kernel on x (rows x cols), with per-layer sizes for cols. */
function kernelCalls(x: Float32Array, rows: number, cols: number): Record<string, () => unknown> {
  const half = Math.floor(cols / 2);
  const layerSizes = [half, cols - half];
  const out = new Float32Array(x.length);
  const scratch = x.slice();
  const weights = Array.from({ length: rows }, (_, r) => r + 1);
  return {
    l2Norms: () => l2Norms(x, rows),
    clipByL2: () => clipByL2(x, rows, 1),
    'clipByL2 out': () => clipByL2(x, rows, 1, { out }),
    clipPerLayer: () => clipPerLayer(x, rows, layerSizes, [1, 2]),
    clipAndSum: () => clipAndSum(x, rows, 1),
    'clipAndSum layers': () => clipAndSum(x, rows, [1, 2], { layerSizes }),
    clipValues: () => clipValues(x, -0.5, 0.5),
    'clipValues inPlace': () => clipValues(scratch, -0.5, 0.5, { inPlace: true }),
    sum: () => sum(x, rows),
    mean: () => mean(x, rows),
    weightedMean: () => weightedMean(x, rows, weights),
  };
}

describe('repeated calls do not grow memory', () => {
  it('10,000 calls of each kernel on small inputs', () => {
    const rows = 8;
    const cols = 37;
    const x = randomMatrix(rows, cols, 1, 'normal');
    const calls = kernelCalls(x, rows, cols);
    for (const call of Object.values(calls)) call(); // warm-up
    const bytes = memoryBytes();
    const top = arenaTop();
    const expectedNorms = l2Norms(x, rows);
    for (const [name, call] of Object.entries(calls)) {
      for (let i = 0; i < 10_000; i++) call();
      expect(memoryBytes(), name).toBe(bytes);
      expect(arenaTop(), name).toBe(top);
    }
    // still correct after 110,000 calls
    expect(Array.from(l2Norms(x, rows))).toEqual(Array.from(expectedNorms));
  });

  it('a few hundred calls on inputs longer than the staging window (2 x 300001)', () => {
    const rows = 2;
    const cols = 300_001;
    const x = randomMatrix(rows, cols, 2, 'normal');
    const calls = kernelCalls(x, rows, cols);
    for (const call of Object.values(calls)) call(); // warm-up
    const bytes = memoryBytes();
    const top = arenaTop();
    const first = clipAndSum(x, rows, 1);
    for (const [name, call] of Object.entries(calls)) {
      for (let i = 0; i < 30; i++) call();
      expect(memoryBytes(), name).toBe(bytes);
      expect(arenaTop(), name).toBe(top);
    }
    const last = clipAndSum(x, rows, 1);
    expect(Array.from(last.sum)).toEqual(Array.from(first.sum));
    expect(Array.from(last.norms)).toEqual(Array.from(first.norms));
  });

  it('many-row inputs spanning several row groups (1000 x 1000)', () => {
    const rows = 1000;
    const cols = 1000;
    const x = randomMatrix(rows, cols, 3, 'rowscaled');
    const calls = kernelCalls(x, rows, cols);
    for (const call of Object.values(calls)) call();
    const bytes = memoryBytes();
    const top = arenaTop();
    for (const [name, call] of Object.entries(calls)) {
      for (let i = 0; i < 10; i++) call();
      expect(memoryBytes(), name).toBe(bytes);
      expect(arenaTop(), name).toBe(top);
    }
  });

  it('calls that fail (non-finite input, overflow, bad arguments) release their memory too', () => {
    const small = new Float32Array(64).fill(1);
    small[50] = Number.NaN;
    const long = new Float32Array(2 * 300_001).fill(1);
    long[500_000] = Number.POSITIVE_INFINITY;
    const overflow = new Float32Array([3e38, 3e38]);
    const smallFailing: Array<() => unknown> = [
      ...Object.values(kernelCalls(small, 2, 32)),
      () => sum(overflow, 2),
      () => l2Norms(overflow, 1),
      () => clipByL2(small, 3, 1),
      () => weightedMean(new Float32Array(4), 2, [0, 0]),
    ];
    const longFailing = Object.values(kernelCalls(long, 2, 300_001));
    for (const call of [...smallFailing, ...longFailing]) catchPrivkitError(call); // warm-up
    const bytes = memoryBytes();
    const top = arenaTop();
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // 200,000 errors: capturing their stacks took a third of the test (what is checked is the memory)
    try {
      for (let i = 0; i < 10_000; i++) {
        for (const call of smallFailing) catchPrivkitError(call);
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
    for (let i = 0; i < 20; i++) {
      for (const call of longFailing) catchPrivkitError(call);
    }
    expect(memoryBytes()).toBe(bytes);
    expect(arenaTop()).toBe(top);
  });
});

describe('memory growth', () => {
  it('a row longer than the whole wasm memory is streamed: memory does not grow, results stay correct', () => {
    const before = memoryBytes();
    // rows longer than the current memory: their accumulator used to be one array in wasm memory
    const cols = before / 4 + 1_000_003;
    const x = new Float32Array(2 * cols);
    for (let j = 0; j < cols; j++) {
      x[j] = (j % 7) - 3;
      x[cols + j] = 0.5;
    }
    const s = sum(x, 2);
    expect(s.length).toBe(cols);
    for (let j = 0; j < cols; j++) {
      if (s[j] !== (j % 7) - 3 + 0.5) expect.fail(`sum[${j}] = ${s[j]}`);
    }
    const { sum: clipped, clippedCount } = clipAndSum(x, 2, 1);
    expect(clippedCount).toBe(2);
    expect(clipped.length).toBe(cols);
    expect(memoryBytes()).toBe(before);
    // small calls after
    expect(Array.from(l2Norms(new Float32Array([3, 4]), 1))).toEqual([5]);
    expectRelClose(clipByL2(new Float32Array([3, 4]), 1, 1), [0.6, 0.8], 2 ** -23, 'clipByL2');
    expect(memoryBytes()).toBe(before);
  });
});

describe('Arena bookkeeping for large allocations', () => {
  /** A stand-in for WebAssembly.Memory: the arena only reads buffer.byteLength and calls grow(). */
  function fakeMemory(bytes: number) {
    const memory = {
      grown: 0,
      buffer: { byteLength: bytes },
      grow(pages: number) {
        memory.grown += pages;
        memory.buffer.byteLength += pages * 65536;
        return 0;
      },
    };
    return memory;
  }

  it('allocations past 2 GiB keep 16-byte alignment, grow memory and move the top forward', () => {
    const memory = fakeMemory(65536);
    const arena = new Arena(memory as unknown as WebAssembly.Memory, 1000, 2 ** 32); // no per-call limit
    const first = arena.alloc(100);
    expect(first).toBe(1008);
    expect(arena.mark()).toBe(1120);
    const big = arena.alloc(2 ** 31);
    expect(big).toBe(1120);
    expect(arena.mark()).toBe(1120 + 2 ** 31);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(1120 + 2 ** 31);
    const next = arena.alloc(4);
    expect(next).toBe(1120 + 2 ** 31);
    expect(next).toBeGreaterThan(big);
  });

  it('an allocation beyond the 4 GiB address space is refused with E_WASM, not wrapped around', () => {
    const memory = fakeMemory(65536);
    const arena = new Arena(memory as unknown as WebAssembly.Memory, 1024, 2 ** 32);
    const top = arena.mark();
    expectPrivkitError(() => arena.alloc(2 ** 32 - 1000), 'E_WASM');
    expect(arena.mark()).toBe(top);
    expect(memory.grown).toBe(0);
  });
});

describe('a wasm trap becomes PrivkitError E_WASM and the engine keeps working', () => {
  it('out-of-bounds pointer in a raw kernel', () => {
    const top = arenaTop();
    const error = expectPrivkitError(
      () => runtime.withWasm(kernelsWasm, (kernels) => kernels.sumSquaresRows(0xfffffff0, 1, 64, 64, 0, 1)),
      'E_WASM',
    );
    expect(error).toBeInstanceOf(PrivkitError);
    expect(error.cause).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(arenaTop()).toBe(top);

    // the next normal calls work and are correct
    expect(Array.from(l2Norms(new Float32Array([3, 4]), 1))).toEqual([5]);
    const { sum: s, norms, clippedCount } = clipAndSum(new Float32Array([3, 4, 0.3, 0.4]), 2, 1);
    expectRelClose(s, [0.9, 1.2], 2 ** -22, 'sum');
    expectRelClose(norms, [5, 0.5], 2 ** -23, 'norms');
    expect(clippedCount).toBe(1);
  });

  it('a trap after arena allocations inside the call releases them', () => {
    const top = arenaTop();
    const bytes = memoryBytes();
    for (let i = 0; i < 100; i++) {
      expectPrivkitError(
        () =>
          runtime.withWasm(kernelsWasm, (kernels, arena) => {
            const ptr = arena.allocF32(1024);
            arena.f32(ptr, 1024).fill(1);
            // output pointer out of bounds
            kernels.sumSquaresRows(ptr, 4, 256, 256, 0xfffffff8, 1);
          }),
        'E_WASM',
      );
    }
    expect(arenaTop()).toBe(top);
    expect(memoryBytes()).toBe(bytes);
    expect(Array.from(sum(new Float32Array([1, 2, 3, 4]), 2))).toEqual([4, 6]);
  });

  /** 16 bytes of arena memory holding 0.5 as float64 twice (scales / weights are float64). */
  const halves = (arena: { alloc(bytes: number): number; f64(ptr: number, length: number): Float64Array }): number => {
    const ptr = arena.alloc(16);
    arena.f64(ptr, 2).fill(0.5);
    return ptr;
  };

  it('traps in every raw kernel', () => {
    const oob = 0xfffffff0;
    const traps: Array<() => unknown> = [
      () => runtime.withWasm(kernelsWasm, (k) => k.firstNonFinite(oob, 64)),
      () => runtime.withWasm(kernelsWasm, (k) => k.clampValues(oob, 64, 0, 1)),
      // valid scale / weight (0.5, as float64 and float32 bit patterns both non-1), out-of-bounds rows
      () => runtime.withWasm(kernelsWasm, (k, a) => k.scaleRows(oob, 1, 64, 64, halves(a), 1)),
      () => runtime.withWasm(kernelsWasm, (k, a) => k.accumulateRows(oob, 1, 64, 64, halves(a), 1, a.allocF32(64))),
    ];
    for (const trap of traps) {
      const error = expectPrivkitError(trap, 'E_WASM');
      expect(error.message).toMatch(/wasm kernel failed/);
      expect(Array.from(clipValues(new Float32Array([-2, 0.25, 2]), -1, 1))).toEqual([-1, 0.25, 1]);
    }
  });

  it('errors thrown by the body that are not traps pass through unchanged', () => {
    const top = arenaTop();
    const own = new TypeError('not a wasm error');
    expect(() =>
      runtime.withWasm(kernelsWasm, (_k, arena) => {
        arena.alloc(4096);
        throw own;
      }),
    ).toThrow(own);
    expect(arenaTop()).toBe(top);
  });
});
