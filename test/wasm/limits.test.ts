// Bounded allocations (issue 11): long rows, long rotations and many masks run in bounded wasm
// memory (the thread's memory does not grow); arguments asking for more than a call may allocate get
// a coded error naming them before anything is allocated; one call may allocate at most
// MAX_CALL_BYTES of wasm memory; a module whose memory grew past RETAINED_BYTES gets a fresh instance
// (its memory back to the initial size) once the thread is idle, and keeps computing correctly.
import { beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, clipPerLayer, ready, sum } from 'privkit';
import { createRng, gaussianNoise, laplaceNoise, MAX_NOISE_LENGTH } from 'privkit/dp';
import { applyMasks, inverseRandomizedHadamard, randomizedHadamard } from 'privkit/secagg';
import * as ref from 'privkit/reference';
import { MAX_LAYERS } from '../../dist/src/kernels/clip.js';
import { MAX_RNG_LENGTH } from '../../dist/src/dp/rng.js';
import { maskedSum } from '../../dist/src/secagg/masks.js';
import { MAX_CALL_BYTES } from '../../dist/src/wasm/arena.js';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { dpWasm } from '../../dist/src/dp/wasm.js';
import { kernelsWasm } from '../../dist/src/kernels/wasm.js';
import { expectPrivkitError } from '../support/helpers.js';

beforeAll(ready);

/** Wasm memory of one module, or of all the thread's modules. */
const moduleBytes = (module: runtime.WasmModule<runtime.ModuleExports>): number => runtime.withWasm(module, (_kernels, arena) => arena.memoryBytes);
const memoryBytes = (): number => runtime.registeredModules().reduce((total, module) => total + moduleBytes(module), 0);
const INITIAL_BYTES = 64 * 65536; // asconfig.json initialMemory

describe('long inputs run in bounded wasm memory', () => {
  it('clipAndSum and sum of one row of 2^23 values (32 MiB) do not grow memory', () => {
    const cols = 2 ** 23;
    const x = new Float32Array(cols);
    for (let j = 0; j < cols; j++) x[j] = (j % 13) - 6;
    const before = memoryBytes();
    const { sum: clipped, norms, clippedCount } = clipAndSum(x, 1, 1);
    expect(memoryBytes()).toBe(before);
    expect(clippedCount).toBe(1);
    let squares = 0;
    for (let j = 0; j < cols; j++) squares += x[j]! * x[j]!;
    expect(norms[0]).toBeCloseTo(Math.sqrt(squares), 0);
    const scale = 1 / norms[0]!;
    for (const j of [0, 1, 12, 999_999, cols - 1]) expect(clipped[j]).toBeCloseTo(x[j]! * scale, 9);
    expect(Array.from(sum(x, 1).subarray(cols - 5))).toEqual(Array.from(x.subarray(cols - 5)));
    expect(memoryBytes()).toBe(before);
  });

  it('a rotation of 2^21 values (8 MiB) runs block by block and comes back', () => {
    const n = 2 ** 21 - 3;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const seed = new Uint8Array(32).fill(5);
    const before = memoryBytes();
    const y = randomizedHadamard(x, seed);
    const back = inverseRandomizedHadamard(y, seed, n);
    expect(memoryBytes()).toBe(before);
    let error = 0;
    for (let i = 0; i < n; i++) error = Math.max(error, Math.abs(back[i]! - x[i]!));
    expect(error).toBeLessThan(1e-5);
  });

  it('300 masks (more than one batch of generators) equal adding them 100 at a time and come off again, in bounded memory', () => {
    const masks = Array.from({ length: 300 }, (_, k) => ({ seed: Uint8Array.from({ length: 32 }, (_, i) => (k * 7 + i) & 0xff), subtract: k % 3 === 0 }));
    const target = Uint32Array.from({ length: 70_000 }, (_, i) => i & 0xfffff);
    const before = memoryBytes();
    const masked = applyMasks(target.slice(), masks, 20);
    expect(memoryBytes()).toBe(before);
    // the same as adding the masks one batch of 100 at a time (addition mod 2^20 commutes)
    let stepwise: Uint32Array = target.slice();
    for (let first = 0; first < 300; first += 100) stepwise = applyMasks(stepwise, masks.slice(first, first + 100), 20);
    expect(masked).toEqual(stepwise);
    expect(masked).not.toEqual(target);
    // the opposite masks take them off again
    const unmasked = maskedSum([masked], masks.map((m) => ({ seed: m.seed, subtract: !m.subtract })), 20);
    expect(unmasked).toEqual(target);
  });
});

describe('per-call limits: a coded error naming the argument, before any allocation', () => {
  it('noise lengths beyond MAX_NOISE_LENGTH (2^28)', () => {
    expect(MAX_NOISE_LENGTH).toBe(2 ** 28);
    expectPrivkitError(() => gaussianNoise(2 ** 31 - 1, 1), 'E_ARG', 'length');
    expectPrivkitError(() => laplaceNoise(MAX_NOISE_LENGTH + 1, 1, { dtype: 'float32' }), 'E_ARG', 'length');
  });

  it('generator lengths beyond 2^28', () => {
    const rng = createRng({ seed: new Uint8Array(32) });
    expect(MAX_RNG_LENGTH).toBe(2 ** 28);
    expectPrivkitError(() => rng.bytes(MAX_RNG_LENGTH + 1), 'E_ARG', 'n');
    expectPrivkitError(() => rng.uint32(2 ** 40), 'E_ARG', 'n');
    expectPrivkitError(() => rng.uniform(2 ** 31), 'E_ARG', 'n');
  });

  it('more than MAX_LAYERS (2^20) layers, checked before the sizes are read', () => {
    let reads = 0;
    const layerSizes = new Proxy({ length: MAX_LAYERS + 1 }, { get: (target, key) => (key === 'length' ? target.length : (reads++, 1)) });
    expectPrivkitError(() => clipPerLayer(new Float32Array(4), 1, layerSizes as unknown as number[], 1), 'E_ARG', 'layerSizes');
    expect(reads).toBe(0);
  });

  it('a masked sum longer than 2^30 words', () => {
    expectPrivkitError(() => maskedSum([], [], 32, 2 ** 30 + 1), 'E_ARG', 'length');
  });

  it('one call may allocate at most MAX_CALL_BYTES (64 MiB) of wasm memory, nested scopes included', () => {
    expect(MAX_CALL_BYTES).toBe(64 * 2 ** 20);
    for (const module of runtime.registeredModules()) {
      const before = moduleBytes(module);
      expectPrivkitError(() => runtime.withWasm(module, (_kernels, arena) => arena.alloc(MAX_CALL_BYTES + 1)), 'E_OVERFLOW');
      expectPrivkitError(
        () =>
          runtime.withWasm(module, (_kernels, arena) => {
            arena.alloc(MAX_CALL_BYTES / 2);
            runtime.withWasm(module, (_k, inner) => inner.alloc(MAX_CALL_BYTES / 2 + 64));
          }),
        'E_OVERFLOW',
      );
      expect(moduleBytes(module), module.name).toBeLessThanOrEqual(before + MAX_CALL_BYTES / 2 + 65536);
    }
  });
});

describe('high-water memory is released', () => {
  it('after a call that grew the memory of a module past RETAINED_BYTES, the idle thread gets a fresh instance of that module', async () => {
    await runtime.settled(); // renewals started by earlier tests are done
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i));
    const clippedBefore = clipAndSum(x, 10, 0.5);
    const grownBy = runtime.RETAINED_BYTES + (4 << 20);
    expect(runtime.registeredModules().length).toBeGreaterThanOrEqual(3); // kernels, rng, dp: the families imported here use them
    for (const module of runtime.registeredModules()) {
      const others = runtime.registeredModules().filter((other) => other !== module);
      const memoryOf = (m: typeof module) => runtime.withWasm(m, (kernels) => kernels.memory);
      const othersBefore = others.map(memoryOf);
      runtime.withWasm(module, (_kernels, arena) => arena.bytes(arena.alloc(grownBy), 16).fill(7));
      expect(moduleBytes(module), module.name).toBeGreaterThan(runtime.RETAINED_BYTES);
      const old = memoryOf(module);
      await runtime.settled();
      expect(memoryOf(module), module.name).not.toBe(old);
      expect(moduleBytes(module), module.name).toBe(INITIAL_BYTES);
      others.forEach((other, i) => expect(memoryOf(other), `${other.name} keeps its instance`).toBe(othersBefore[i]));
    }
    // the fresh instances compute as the old ones did
    expect(clipAndSum(x, 10, 0.5)).toEqual(clippedBefore);
    const a = createRng({ seed: new Uint8Array(32).fill(9) }).bytes(100);
    expect(a.subarray(0, 64)).toEqual(ref.chachaBlock(new Uint8Array(32).fill(9), 0, new Uint8Array(12)));
  });

  it('calls within RETAINED_BYTES keep their instance', async () => {
    const modules: runtime.WasmModule<runtime.ModuleExports>[] = [dpWasm, kernelsWasm];
    const memories = () => modules.map((module) => runtime.withWasm(module, (kernels) => kernels.memory));
    const old = memories();
    gaussianNoise(100_000, 1);
    clipAndSum(new Float32Array(100_000), 10, 1);
    await runtime.settled();
    expect(memories()[0]).toBe(old[0]);
    expect(memories()[1]).toBe(old[1]);
  });
});
