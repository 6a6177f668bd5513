// Attacks on the wasm boundary (issue 11, "stale wasm memory returned as output"): an input array on
// a resizable ArrayBuffer is shrunk, or its buffer detached by a structuredClone transfer, while the
// call runs: from a getter on the options, on an element of an array argument or on a mask, or from
// the array's own `constructor` (read by subarray/slice as the species) or `length` properties.
// Every kernel entry point must then throw a PrivkitError or return exactly what it returns for the
// input as it was after the change; free wasm memory is filled with a canary first, so stale
// memory in a result would also show as canary words.
import { beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, clipByL2, clipPerLayer, clipValues, l2Norms, mean, PrivkitError, ready, sum, weightedMean } from 'privkit';
import { addGaussianNoise, addLaplaceNoise, createRng, secureGaussian, secureLaplace } from 'privkit/dp';
import { applyMasks, inverseRandomizedHadamard, quantize, randomizedHadamard, type Mask, type QuantizeOptions } from 'privkit/secagg';
import { maskedSum } from '../../dist/src/secagg/masks.js';
import * as runtime from '../../dist/src/wasm/runtime.js';

beforeAll(ready);

type Attack = 'shrink from a getter' | 'detach from a getter' | 'shrink from x.constructor' | 'shrink from x.length';
const ATTACKS: readonly Attack[] = ['shrink from a getter', 'detach from a getter', 'shrink from x.constructor', 'shrink from x.length'];

type Kind = Float32ArrayConstructor | Float64ArrayConstructor | Uint32ArrayConstructor;
type Values = Float32Array | Float64Array | Uint32Array;
const CANARY = 0xa5a5a5a5;

/** Attacks strike only while the attacked call runs (not when the test itself reads the result). */
let armed = false;

/** Resizable buffers are ES2024: typed here as far as the test needs them. */
interface ResizableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}

/**
 * The attacked input: a length-tracking array on a resizable buffer. `strike()` (idempotent) shrinks
 * it to `keep` values or detaches its buffer; `after()` is a plain copy of its values right after
 * the strike (before the call could write into it), or of the initial values if there was none.
 */
class Victim<T extends Values> {
  readonly array: T;
  private readonly buffer: ResizableBuffer;
  private readonly initial: T;
  private struck: T | undefined;

  constructor(
    private readonly kind: Kind,
    values: ArrayLike<number>,
    private readonly keep: number,
    private readonly attack: Attack,
  ) {
    const bytes = values.length * kind.BYTES_PER_ELEMENT;
    this.buffer = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ResizableBuffer)(bytes, { maxByteLength: bytes });
    this.array = new kind(this.buffer) as T;
    this.array.set(values);
    this.initial = this.copy();
    const strike = () => {
      this.strike();
      return kind;
    };
    if (attack === 'shrink from x.constructor') Object.defineProperty(this.array, 'constructor', { get: strike });
    if (attack === 'shrink from x.length') {
      const length = values.length;
      Object.defineProperty(this.array, 'length', { get: () => (this.strike(), length) }); // a lie after the strike
    }
  }

  strike(): void {
    if (!armed || this.struck !== undefined) return;
    if (this.attack === 'detach from a getter') structuredClone(this.buffer, { transfer: [this.buffer as ArrayBuffer] } as StructuredSerializeOptions);
    else this.buffer.resize(this.keep * this.kind.BYTES_PER_ELEMENT);
    this.struck = this.copy();
  }

  /** A getter for options that strikes first, then returns `value` (the getter attacks only). */
  getter<V>(value: V): () => V {
    return () => {
      if (this.attack === 'shrink from a getter' || this.attack === 'detach from a getter') this.strike();
      return value;
    };
  }

  after(): T {
    return this.struck ?? this.initial;
  }

  /** The current values (none once detached: a detached buffer has byteLength 0). */
  private copy(): T {
    return (this.buffer.byteLength === 0 ? new this.kind(0) : new this.kind(this.buffer.slice(0))) as T;
  }
}

/** An object whose property `key` is a getter. */
function withGetter<T extends object>(base: T, key: string, get: () => unknown): T {
  return Object.defineProperty({ ...base }, key, { get, enumerable: true });
}

/** An array whose element `index` is a getter. */
function arrayWithGetter<T>(values: T[], index: number, get: () => T): T[] {
  const array = values.slice();
  Object.defineProperty(array, index, { get });
  return array;
}

const data = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed + 1.7 * i) * (1 + (i % 5)));
const words = (n: number, seed: number) => Uint32Array.from({ length: n }, (_, i) => (Math.imul(i + seed, 2654435761) >>> 0) & 0xffff);
const seed = (k: number) => Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + k) & 0xff);
const rngOf = (k: number) => createRng({ seed: seed(k) });

/** The attacked call and the same call, unattacked, on the victim's values after the strike. */
type Case = (attack: Attack) => { call: () => unknown; reference: () => unknown };

const f32 = (attack: Attack, n = 16, keep = 8) => new Victim<Float32Array>(Float32Array, data(n, 1), keep, attack);

const CASES: Record<string, Case> = {
  'clipByL2 (opts.out)': (a) => {
    const v = f32(a);
    return { call: () => clipByL2(v.array, 2, 3, withGetter({}, 'out', v.getter(undefined))), reference: () => clipByL2(v.after(), 2, 3) };
  },
  'clipByL2 (opts.inPlace)': (a) => {
    const v = f32(a);
    return { call: () => clipByL2(v.array, 2, 3, withGetter({}, 'inPlace', v.getter(true))), reference: () => clipByL2(v.after(), 2, 3, { inPlace: true }) };
  },
  'clipPerLayer (layerSizes[0])': (a) => {
    const v = f32(a);
    return {
      call: () => clipPerLayer(v.array, 2, arrayWithGetter([4, 4], 0, v.getter(4)), [1, 2]),
      reference: () => clipPerLayer(v.after(), 2, [4, 4], [1, 2]),
    };
  },
  'clipPerLayer (maxNorms[1])': (a) => {
    const v = f32(a);
    return {
      call: () => clipPerLayer(v.array, 2, [2, 2], arrayWithGetter([1, 2], 1, v.getter(2))),
      reference: () => clipPerLayer(v.after(), 2, [2, 2], [1, 2]),
    };
  },
  'clipPerLayer (opts.out)': (a) => {
    const v = f32(a);
    return {
      call: () => clipPerLayer(v.array, 2, [4, 4], 1, withGetter({}, 'out', v.getter(undefined))),
      reference: () => clipPerLayer(v.after(), 2, [4, 4], 1),
    };
  },
  'clipAndSum (opts.layerSizes)': (a) => {
    const v = f32(a);
    return {
      call: () => clipAndSum(v.array, 2, 1e30, withGetter({}, 'layerSizes', v.getter([8]))),
      reference: () => clipAndSum(v.after(), 2, 1e30, { layerSizes: [8] }),
    };
  },
  'clipAndSum (opts.columns)': (a) => {
    const v = f32(a);
    return { call: () => clipAndSum(v.array, 2, 1e30, withGetter({}, 'columns', v.getter(8))), reference: () => clipAndSum(v.after(), 2, 1e30, { columns: 8 }) };
  },
  'clipAndSum (maxNorm[0])': (a) => {
    const v = f32(a);
    return {
      call: () => clipAndSum(v.array, 2, arrayWithGetter([1e30, 1e30], 0, v.getter(1e30)), { layerSizes: [4, 4] }),
      reference: () => clipAndSum(v.after(), 2, [1e30, 1e30], { layerSizes: [4, 4] }),
    };
  },
  'clipValues (opts.out)': (a) => {
    const v = f32(a);
    return { call: () => clipValues(v.array, -1, 1, withGetter({}, 'out', v.getter(undefined))), reference: () => clipValues(v.after(), -1, 1) };
  },
  'clipValues (opts.inPlace)': (a) => {
    const v = f32(a);
    return { call: () => clipValues(v.array, -1, 1, withGetter({}, 'inPlace', v.getter(true))), reference: () => clipValues(v.after(), -1, 1, { inPlace: true }) };
  },
  l2Norms: (a) => {
    const v = f32(a);
    return { call: () => l2Norms(v.array, 2), reference: () => l2Norms(v.after(), 2) };
  },
  sum: (a) => {
    const v = f32(a);
    return { call: () => sum(v.array, 2), reference: () => sum(v.after(), 2) };
  },
  mean: (a) => {
    const v = f32(a);
    return { call: () => mean(v.array, 2), reference: () => mean(v.after(), 2) };
  },
  'weightedMean (weights[1])': (a) => {
    const v = f32(a);
    return { call: () => weightedMean(v.array, 2, arrayWithGetter([1, 3], 1, v.getter(3))), reference: () => weightedMean(v.after(), 2, [1, 3]) };
  },
  'addGaussianNoise (opts.rng)': (a) => {
    const v = f32(a);
    return {
      call: () => addGaussianNoise(v.array, 0.5, withGetter({}, 'rng', v.getter(rngOf(1)))),
      reference: () => addGaussianNoise(v.after(), 0.5, { rng: rngOf(1) }),
    };
  },
  'addLaplaceNoise (opts.rng)': (a) => {
    const v = new Victim<Float64Array>(Float64Array, data(16, 2), 8, a);
    return {
      call: () => addLaplaceNoise(v.array, 0.5, withGetter({}, 'rng', v.getter(rngOf(2)))),
      reference: () => addLaplaceNoise(v.after(), 0.5, { rng: rngOf(2) }),
    };
  },
  'secureLaplace (opts.rng)': (a) => {
    const v = new Victim<Float64Array>(Float64Array, data(16, 3), 8, a);
    return {
      call: () => secureLaplace(v.array, 1, withGetter({}, 'rng', v.getter(rngOf(3)))),
      reference: () => secureLaplace(v.after(), 1, { rng: rngOf(3) }),
    };
  },
  'secureGaussian (opts.rng)': (a) => {
    const v = new Victim<Float64Array>(Float64Array, data(16, 4), 8, a);
    return {
      call: () => secureGaussian(v.array, 1, withGetter({}, 'rng', v.getter(rngOf(4)))),
      reference: () => secureGaussian(v.after(), 1, { rng: rngOf(4) }),
    };
  },
  'quantize (opts.scale)': (a) => {
    const v = f32(a);
    const opts = { bits: 20, noiseSigma: 2 };
    return {
      call: () => quantize(v.array, withGetter({ ...opts, rng: rngOf(5) } as QuantizeOptions, 'scale', v.getter(100))),
      reference: () => quantize(v.after(), { ...opts, scale: 100, rng: rngOf(5) }),
    };
  },
  'quantize (opts.rng, conditional rounding)': (a) => {
    const v = f32(a);
    const opts = { bits: 20, scale: 100, rounding: 'conditional' as const, conditionalBound: 1e6 };
    return {
      call: () => quantize(v.array, withGetter(opts, 'rng', v.getter(rngOf(6)))),
      reference: () => quantize(v.after(), { ...opts, rng: rngOf(6) }),
    };
  },
  'applyMasks (masks[0].seed)': (a) => {
    const v = new Victim<Uint32Array>(Uint32Array, words(16, 1), 8, a);
    return {
      call: () => applyMasks(v.array, [withGetter({} as Mask, 'seed', v.getter(seed(7))), { seed: seed(8), subtract: true }], 16),
      reference: () => applyMasks(v.after(), [{ seed: seed(7) }, { seed: seed(8), subtract: true }], 16),
    };
  },
  'applyMasks (masks[1].subtract)': (a) => {
    const v = new Victim<Uint32Array>(Uint32Array, words(16, 2), 8, a);
    return {
      call: () => applyMasks(v.array, [{ seed: seed(9) }, withGetter({ seed: seed(10) }, 'subtract', v.getter(true))], 16),
      reference: () => applyMasks(v.after(), [{ seed: seed(9) }, { seed: seed(10), subtract: true }], 16),
    };
  },
  'maskedSum (inputs[1])': (a) => {
    const v = new Victim<Uint32Array>(Uint32Array, words(16, 3), 8, a);
    const other = words(16, 4);
    return {
      call: () => maskedSum(arrayWithGetter([v.array, other], 1, v.getter(other)), [{ seed: seed(11) }], 16),
      reference: () => {
        const first = v.after();
        return maskedSum([first, other.subarray(0, first.length)], [{ seed: seed(11) }], 16);
      },
    };
  },
  'maskedSum (masks[0].seed)': (a) => {
    const v = new Victim<Uint32Array>(Uint32Array, words(16, 5), 8, a);
    return {
      call: () => maskedSum([v.array], [withGetter({} as Mask, 'seed', v.getter(seed(12)))], 16),
      reference: () => maskedSum([v.after()], [{ seed: seed(12) }], 16),
    };
  },
  'randomizedHadamard (seed.length)': (a) => {
    const v = new Victim<Float32Array>(Float32Array, data(16, 5), 5, a);
    const key = seed(13);
    Object.defineProperty(key, 'length', { get: v.getter(32) });
    return { call: () => randomizedHadamard(v.array, key), reference: () => randomizedHadamard(v.after(), seed(13)) };
  },
  'inverseRandomizedHadamard (seed.length)': (a) => {
    const v = new Victim<Float32Array>(Float32Array, data(16, 6), 8, a);
    const key = seed(14);
    Object.defineProperty(key, 'length', { get: v.getter(32) });
    return { call: () => inverseRandomizedHadamard(v.array, key, 13), reference: () => inverseRandomizedHadamard(v.after(), seed(14), 13) };
  },
  'rng.fill (out)': (a) => {
    const v = new Victim<Uint32Array>(Uint32Array, words(16, 6), 8, a);
    return { call: () => rngOf(15).fill(v.array), reference: () => rngOf(15).fill(new Uint32Array(v.after().length)) };
  },
};

/** Fills the memory of every wasm module above its arena's free pointer with the canary. */
function plantCanary(): void {
  for (const module of runtime.registeredModules()) {
    runtime.withWasm(module, (kernels, arena) => new Uint8Array(kernels.memory.buffer, arena.mark()).fill(0xa5));
  }
}

/** The typed arrays of a result (an array, or an object of arrays). */
function arraysOf(result: unknown): Values[] {
  if (ArrayBuffer.isView(result)) return [result as Values];
  if (result !== null && typeof result === 'object') return Object.values(result).flatMap(arraysOf);
  return [];
}

/** True when some 32-bit word of the result is the canary (stale wasm memory). */
function holdsCanary(result: unknown): boolean {
  return arraysOf(result).some((array) => {
    if (array.byteLength === 0) return false;
    const bytes = new Uint8Array(array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength));
    return new Uint32Array(bytes.buffer, 0, bytes.length >> 2).includes(CANARY);
  });
}

type Outcome = { error: PrivkitError } | { value: unknown } | { foreign: unknown };
function outcome(run: () => unknown): Outcome {
  try {
    return { value: run() };
  } catch (error) {
    return error instanceof PrivkitError ? { error } : { foreign: error };
  }
}

describe('an input shrunk or detached during a call never yields stale wasm memory', () => {
  for (const [name, make] of Object.entries(CASES)) {
    it(name, () => {
      for (const attack of ATTACKS) {
        const { call, reference } = make(attack);
        plantCanary();
        armed = true;
        const got = outcome(call);
        armed = false;
        const what = `${name}, ${attack}`;
        expect('foreign' in got ? String((got as { foreign: unknown }).foreign) : 'no foreign error', what).toBe('no foreign error');
        if ('error' in got) {
          expect(got.error.code, what).toMatch(/^E_/);
          continue;
        }
        const value = (got as { value: unknown }).value;
        expect(holdsCanary(value), `${what}: canary (stale wasm memory) in the result`).toBe(false);
        const expected = outcome(reference);
        expect('value' in expected, `${what}: the call succeeded where the unattacked call on the final input fails`).toBe(true);
        expect(value, `${what}: result differs from the unattacked call on the final input`).toEqual((expected as { value: unknown }).value);
      }
    });
  }

  it('the canary check finds stale memory when it is there (control)', () => {
    plantCanary();
    for (const module of runtime.registeredModules()) {
      const stale = runtime.withWasm(module, (_kernels, arena) => arena.f32(arena.alloc(16), 4).slice());
      expect(holdsCanary(stale), module.name).toBe(true);
    }
    const stale = runtime.withWasm(runtime.registeredModules()[0]!, (_kernels, arena) => arena.f32(arena.alloc(16), 4).slice());
    expect(holdsCanary({ sum: new Float32Array(4), norms: stale })).toBe(true);
    expect(holdsCanary(new Float32Array(4))).toBe(false);
  });
});
