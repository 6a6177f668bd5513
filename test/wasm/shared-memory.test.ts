// Arrays in shared wasm memory (src/wasm/shared-memory.ts): a large sharedFloat32Array lies in a
// wasm memory of its own, the sync kernels and the pool's workers read it in place with the same
// results, bit for bit, as through staging; scratch slots are taken and freed (also when a call
// fails), a call finding every slot taken stages instead, and many threads growing one memory at
// once leave it correct and no larger than their slots need.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, clipByL2, clipPerLayer, l2Norms, mean, ready, sum, weightedMean } from 'privkit';
import { createPool, sharedFloat32Array, sharedFloat64Array, type Pool } from 'privkit/pool';
import { kernelsSharedWasm } from '../../dist/src/kernels/wasm.js';
import { WINDOW_FLOATS } from '../../dist/src/kernels/stream.js';
import { MIN_WASM_ARRAY_BYTES, SCRATCH_SLOTS, scratchSlots, SLOT_BYTES, wasmMemoryOf } from '../../dist/src/wasm/shared-memory.js';
import { expectPrivkitError, randomMatrix } from '../support/helpers.js';

const WORKERS = 4;
let pool: Pool;
beforeAll(async () => {
  await ready();
  pool = await createPool({ threads: WORKERS });
});
afterAll(async () => {
  await pool.close();
});

/** A sharedFloat32Array holding `values`. */
function shared(values: Float32Array): Float32Array {
  const x = sharedFloat32Array(values.length);
  x.set(values);
  return x;
}

/** Every read-only kernel on x (rows of cols): in place on a shared x, staged on a plain one. */
function readOnlyCalls(x: Float32Array, rows: number, cols: number): unknown[] {
  const half = Math.floor(cols / 2);
  const weights = Array.from({ length: rows }, (_, r) => 1 + (r % 7));
  return [
    l2Norms(x, rows),
    clipAndSum(x, rows, 1),
    clipAndSum(x, rows, [0.5, 2], { layerSizes: [half, cols - half] }),
    clipAndSum(x, rows, 1e-37), // clip scales below float32's normal range: summed in float64
    sum(x, rows),
    mean(x, rows),
    weightedMean(x, rows, weights),
  ];
}

describe('where an array lies', () => {
  it('a shared array of MIN_WASM_ARRAY_BYTES or more lies in a zeroed wasm memory of its own; a smaller one does not', () => {
    const large = sharedFloat32Array(MIN_WASM_ARRAY_BYTES / 4);
    const memory = wasmMemoryOf(large);
    expect(memory).toBeInstanceOf(WebAssembly.Memory);
    expect(large.buffer).toBe(memory!.buffer);
    expect(large.every((v) => v === 0)).toBe(true);
    expect(wasmMemoryOf(sharedFloat32Array(MIN_WASM_ARRAY_BYTES / 4 - 1))).toBeUndefined();
    expect(wasmMemoryOf(sharedFloat64Array(MIN_WASM_ARRAY_BYTES / 8))).toBeInstanceOf(WebAssembly.Memory);
    expect(wasmMemoryOf(new Float32Array(MIN_WASM_ARRAY_BYTES / 4))).toBeUndefined();
    // two arrays, two memories: neither can reach the other
    expect(wasmMemoryOf(sharedFloat32Array(MIN_WASM_ARRAY_BYTES / 4))).not.toBe(memory);
  });

  it('a view made from such an array (subarray) is read in place as well', () => {
    const rows = 64;
    const cols = 8192;
    const values = randomMatrix(rows, cols, 7);
    const x = shared(values);
    const view = x.subarray(cols, (rows - 1) * cols);
    expect(wasmMemoryOf(view)).toBe(wasmMemoryOf(x));
    expect(clipAndSum(view, rows - 2, 1)).toEqual(clipAndSum(values.slice(cols, (rows - 1) * cols), rows - 2, 1));
  });
});

describe('the sync kernels in place', () => {
  it.each([
    ['short rows', 512, 1024],
    ['long rows (cols > the staging window)', 3, WINDOW_FLOATS + 1000],
  ])('give the staged results bit for bit: %s', (_, rows, cols) => {
    const values = randomMatrix(rows, cols, rows + cols);
    const x = shared(values);
    expect(wasmMemoryOf(x)).toBeDefined();
    expect(readOnlyCalls(x, rows, cols)).toEqual(readOnlyCalls(values, rows, cols));
    expect(scratchSlots(x).inUse).toBe(0);
  });

  it.each([
    ['short rows', 512, 1024],
    ['long rows (cols > the staging window)', 3, WINDOW_FLOATS + 1000],
  ])('clip into a shared target where it lies, as the staged calls do bit for bit: %s', (_, rows, cols) => {
    const values = randomMatrix(rows, cols, rows * cols);
    const half = Math.floor(cols / 2);
    const staged = [clipByL2(values, rows, 1), clipPerLayer(values, rows, [half, cols - half], [0.5, 1e-37])];
    const clipInto = (x: Float32Array, out: Float32Array) => [
      clipByL2(x, rows, 1, { out }).slice(),
      clipPerLayer(x, rows, [half, cols - half], [0.5, 1e-37], { out }).slice(),
    ];
    const target = sharedFloat32Array(values.length);
    expect(wasmMemoryOf(target)).toBeDefined();
    // x plain or shared (another memory), the target in place; then x its own target (inPlace)
    expect(clipInto(values, target)).toEqual(staged);
    const x = shared(values);
    expect(clipInto(x, target)).toEqual(staged);
    expect(x).toEqual(values);
    expect(clipByL2(x, rows, 1, { inPlace: true })).toBe(x);
    expect(x).toEqual(staged[0]);
    expect(scratchSlots(target)).toEqual({ inUse: 0, assigned: 1 }); // the calls ran in the target's memory
    expect(scratchSlots(x).inUse).toBe(0);
  });

  it('refuses a target that overlaps x elsewhere than where x starts (its writes would overwrite rows not yet read)', () => {
    const x = sharedFloat32Array(4 * 65_536);
    x.fill(1);
    const rows = 3;
    const input = x.subarray(0, rows * 65_536);
    expectPrivkitError(() => clipByL2(input, rows, 1, { out: x.subarray(65_536) }), 'E_ARG', 'opts.out');
    const plain = new Float32Array(8).fill(1);
    expectPrivkitError(() => clipByL2(plain.subarray(2, 6), 2, 1, { out: plain.subarray(0, 4) }), 'E_ARG', 'opts.out');
    expect(x.every((v) => v === 1)).toBe(true);
    // the same range through another view is x itself
    expect(clipByL2(input, rows, 1, { out: x.subarray(0, rows * 65_536) })[0]).toBeCloseTo(1 / 256, 7);
  });

  it('run in the array memory: the first call takes a scratch region there and grows the memory for it, later calls reuse it', () => {
    const rows = 4;
    const cols = WINDOW_FLOATS + 1000; // long rows: a window-sized accumulator, more than the memory's slack
    const values = randomMatrix(rows, cols, 3);
    const x = shared(values);
    const memory = wasmMemoryOf(x)!;
    const before = memory.buffer.byteLength;
    expect(scratchSlots(x)).toEqual({ inUse: 0, assigned: 0 });
    clipAndSum(x, rows, 1);
    expect(scratchSlots(x)).toEqual({ inUse: 0, assigned: 1 });
    const after = memory.buffer.byteLength;
    expect(after).toBeGreaterThan(before);
    expect(after - before).toBeLessThanOrEqual(SLOT_BYTES);
    for (let i = 0; i < 5; i++) clipAndSum(x, rows, 1);
    expect(memory.buffer.byteLength).toBe(after);
    expect(scratchSlots(x)).toEqual({ inUse: 0, assigned: 1 });
  });

  it('a failing call frees its slot and reports the staged error', () => {
    const values = randomMatrix(512, 1024, 4);
    values[300_000] = NaN;
    const x = shared(values);
    const expected = expectPrivkitError(() => clipAndSum(values, 512, 1), 'E_NONFINITE');
    const error = expectPrivkitError(() => clipAndSum(x, 512, 1), 'E_NONFINITE');
    expect(error.index).toBe(expected.index);
    expect(scratchSlots(x).inUse).toBe(0);
  });

  it('a call finding every scratch slot taken stages x instead, with the same result', () => {
    const values = randomMatrix(256, 1024, 5);
    const x = shared(values);
    const expected = clipAndSum(values, 256, 1);
    let innermost: unknown;
    const hold = (depth: number): void => {
      if (depth === SCRATCH_SLOTS) {
        expect(scratchSlots(x).inUse).toBe(SCRATCH_SLOTS);
        innermost = clipAndSum(x, 256, 1);
        return;
      }
      kernelsSharedWasm.runInPlace(x, () => hold(depth + 1));
    };
    hold(0);
    expect(innermost).toEqual(expected);
    expect(scratchSlots(x).inUse).toBe(0);
  });
});

describe('the pool in place', () => {
  it('the workers read the array in its memory and give the sync result', async () => {
    const rows = 256;
    const cols = 4096;
    const values = randomMatrix(rows, cols, 11);
    const x = shared(values);
    const pooled = await pool.clipAndSum(x, rows, 1);
    expect(scratchSlots(x).assigned).toBeGreaterThan(0); // only a run in place takes a slot; this thread ran none
    expect(pooled.norms).toEqual(clipAndSum(values, rows, 1).norms);
    const weights = Array.from({ length: rows }, (_, r) => r + 1);
    expect(await pool.weightedMean(x, rows, weights)).toEqual(await pool.weightedMean(values.slice(), rows, weights));
  });

  it('every worker and the main thread at once, on fresh memories that they all grow: same results, slots freed, growth bounded', async () => {
    const rows = 2 * WORKERS;
    const cols = WINDOW_FLOATS + 4096; // long rows: every run in place grows the memory for its accumulator
    const values = randomMatrix(rows, cols, 12);
    const expected = await pool.clipAndSum(values, rows, 1);
    for (let round = 0; round < 4; round++) {
      const x = shared(values);
      const memory = wasmMemoryOf(x)!;
      const initial = memory.buffer.byteLength;
      const calls = Array.from({ length: 4 }, () => pool.clipAndSum(x, rows, 1));
      const sync = clipAndSum(x, rows, 1);
      for (const result of await Promise.all(calls)) expect(result).toEqual(expected);
      expect(sync.norms).toEqual(expected.norms);
      const slots = scratchSlots(x);
      expect(slots.inUse).toBe(0);
      expect(slots.assigned).toBeGreaterThan(0);
      expect(slots.assigned).toBeLessThanOrEqual(WORKERS + 1); // one slot per thread at most: each takes the first free one
      // each region is grown into as used; racing growths overshoot by at most one shortfall each
      const grown = memory.buffer.byteLength - initial;
      expect(grown).toBeGreaterThan(0);
      expect(grown).toBeLessThanOrEqual(2 * slots.assigned * SLOT_BYTES);
    }
  });

  it('a worker ended in the middle of a part (an aborted call) has its scratch slot freed by the pool', async () => {
    const rows = 64;
    const cols = 262_144; // 64 MiB: a part runs for milliseconds, long enough to be seen holding its slot
    const x = sharedFloat32Array(rows * cols).fill(0.001);
    const single = await createPool({ threads: 1 });
    const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
    try {
      let seen = false;
      for (let attempt = 0; attempt < 50 && !seen; attempt++) {
        const controller = new AbortController();
        const call = single.clipAndSum(x, rows, 1, { signal: controller.signal });
        call.catch(() => {});
        for (let wait = 0; wait < 200 && !seen; wait++) {
          seen = scratchSlots(x).inUse === 1;
          if (!seen) await tick();
        }
        controller.abort(new Error('stop'));
        await expect(call).rejects.toMatchObject({ code: 'E_ABORTED' });
      }
      expect(seen).toBe(true); // the worker was ended while it held the slot
      for (let wait = 0; wait < 500 && scratchSlots(x).inUse > 0; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(scratchSlots(x).inUse).toBe(0);
      // and the replacement worker reads the array in place again, in the slot freed
      expect((await single.clipAndSum(x, rows, 1)).clippedCount).toBe(0);
      expect(scratchSlots(x)).toEqual({ inUse: 0, assigned: 1 });
    } finally {
      await single.close();
    }
  });
});
