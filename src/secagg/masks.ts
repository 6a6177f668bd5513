// Pairwise and self masks of secure aggregation: each mask is the ChaCha20 keystream of a full
// 32-byte seed (never a truncated one, unlike Flower's 32-bit MT19937 seeding), read as 32-bit words
// and added to or subtracted from a vector in Z_2^b. Masks of opposite sign from the same seed cancel.
// Seeds, generator states and keystream never stay in wasm memory after a call (see combine).
import { PrivkitError } from '../errors.js';
import { GENERATOR_BYTES, generatorState } from '../dp/rng.js';
import { dpWasm } from '../dp/wasm.js';
import { assertInteger, describe } from '../validate.js';
import { checkTypedArray, currentLength, isDetached, StagingWindow, typedArrayKind } from '../wasm/boundary.js';
import { snapshot } from '../wasm/snapshot.js';
import { withWasm } from '../wasm/runtime.js';

/** One mask of {@link applyMasks}: the ChaCha20 keystream of a 32-byte seed, added or subtracted. */
export interface Mask {
  /** 32-byte seed of the mask's keystream. */
  seed: Uint8Array;
  /** Subtract the keystream instead of adding it (default false). */
  subtract?: boolean;
}

/** Generators in wasm memory at once (86 KiB): any number of masks runs in bounded memory. */
const MASK_BATCH = 256;
/** Longest vector (2^30 words, as a protocol message's). */
const MAX_LENGTH = 2 ** 30;

/** A mask as read from the caller, once: a copy of its seed and its sign. */
interface ReadMask {
  seed: Uint8Array;
  subtract: boolean;
}

/**
 * Adds (or subtracts) each mask's keystream to `target` in place, mod 2^bits, and returns it.
 * Values of `target` must already lie in [0, 2^bits). Masks of opposite sign from one seed cancel.
 *
 * @param bits - the word size b, 1 to 32 (default 32).
 * @throws {PrivkitError} E_ARG when target is not an attached Uint32Array, masks is not an array of { seed: 32 bytes, subtract? }, or bits is not an integer in [1, 32].
 * @throws {PrivkitError} E_SHAPE when target's buffer is resized or detached during the call.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function applyMasks(target: Uint32Array, masks: readonly Mask[], bits = 32): Uint32Array {
  const read = readMasks(masks);
  const modulusMask = wordMask(bits);
  checkTypedArray('target', target, ['Uint32Array']);
  return combine(target, 'target', [target], ['target'], read, modulusMask, currentLength(target));
}

/**
 * The sum of `inputs` (Uint32Arrays of one length) plus or minus each mask's keystream, mod
 * 2^bits, in a new array: the server's unmasking, summed and unmasked chunk by chunk in wasm.
 * Equals applyMasks(sum of inputs mod 2^bits, masks, bits); an empty `inputs` needs `length`.
 */
export function maskedSum(inputs: readonly Uint32Array[], masks: readonly Mask[], bits = 32, length?: number): Uint32Array {
  if (!Array.isArray(inputs)) {
    throw new PrivkitError('E_ARG', `inputs must be an array of Uint32Array, got ${describe(inputs)}`, { argument: 'inputs' });
  }
  const list: unknown[] = Array.from(inputs);
  const read = readMasks(masks);
  const modulusMask = wordMask(bits);
  list.forEach((input, i) => {
    if (typedArrayKind(input) !== 'Uint32Array' || isDetached(input as Uint32Array)) {
      throw new PrivkitError('E_ARG', `inputs[${i}] must be an attached Uint32Array, got ${describe(input)}`, { argument: 'inputs', index: i });
    }
  });
  const arrays = list as Uint32Array[];
  const n = length === undefined ? (arrays.length === 0 ? undefined : currentLength(arrays[0]!)) : assertInteger('length', length);
  if (n === undefined) throw new PrivkitError('E_ARG', 'length is required when inputs is empty', { argument: 'length' });
  if (n > MAX_LENGTH) throw new PrivkitError('E_ARG', `length must be <= 2^30, got ${n}`, { argument: 'length' });
  arrays.forEach((input, i) => {
    if (currentLength(input) !== n) {
      throw new PrivkitError('E_SHAPE', `inputs[${i}] has length ${currentLength(input)}, expected ${n}`, { argument: 'inputs', index: i });
    }
  });
  const names = arrays.map((_, i) => `inputs[${i}]`);
  return combine(new Uint32Array(n), 'out', arrays, names, read, modulusMask, n);
}

/**
 * The masks of a call, each read once (a hole is refused, not skipped), their seeds checked and
 * copied (so the caller's later changes do not reach the call).
 */
function readMasks(masks: unknown): ReadMask[] {
  if (!Array.isArray(masks)) {
    throw new PrivkitError('E_ARG', `masks must be an array, got ${describe(masks)}`, { argument: 'masks' });
  }
  return Array.from(masks as unknown[], (mask, i) => {
    const bad = (what: string, value: unknown) =>
      new PrivkitError('E_ARG', `masks[${i}]${what}, got ${describe(value)}`, { argument: 'masks', index: i });
    if (typeof mask !== 'object' || mask === null) throw bad(' must be { seed, subtract? }', mask);
    const { seed, subtract } = mask as Partial<Mask>;
    if (!isSeed(seed)) throw bad('.seed must be a Uint8Array of 32 bytes', seed);
    if (subtract !== undefined && typeof subtract !== 'boolean') throw bad('.subtract must be a boolean', subtract);
    return { seed: snapshot(seed, 32, `masks[${i}].seed`), subtract: subtract === true };
  });
}

/** True for a genuine, attached Uint8Array of 32 bytes. */
function isSeed(seed: unknown): seed is Uint8Array {
  return typedArrayKind(seed) === 'Uint8Array' && !isDetached(seed as Uint8Array) && currentLength(seed as Uint8Array) === 32;
}

/**
 * out = (sum of `inputs` + sum of +-keystreams) mod 2^bits over n words, one staging window at a
 * time (its words a multiple of 64, four ChaCha20 blocks, so streams continue across windows): the
 * inputs are copied into wasm and added (addWords), then the masks' generators are
 * loaded MASK_BATCH at a time, add their keystreams to the chunk (addKeystreams) and are saved
 * back. Generator states and staging are secret: zeroed in wasm when the call ends, and the JS
 * copy of the states too. `out` may be one of the inputs.
 */
function combine(
  out: Uint32Array,
  outName: string,
  inputs: readonly Uint32Array[],
  names: readonly string[],
  masks: readonly ReadMask[],
  modulusMask: number,
  n: number,
): Uint32Array {
  const count = masks.length;
  const states = new Uint8Array(count * GENERATOR_BYTES);
  masks.forEach((mask, i) => {
    const state = generatorState(mask.seed, 0);
    states.set(state, i * GENERATOR_BYTES);
    state.fill(0);
    mask.seed.fill(0);
  });
  const subtract = Uint32Array.from(masks, (mask) => (mask.subtract ? 1 : 0));
  try {
    withWasm(dpWasm, (kernels, arena) => {
      const batch = Math.min(count, MASK_BATCH);
      const gens = arena.allocSecret(batch * GENERATOR_BYTES);
      const flags = arena.allocSecret(batch * 4);
      const staged = inputs.map((array, i) => ({ array, name: names[i]! }));
      const window = new StagingWindow(arena, 4, n, true);
      const scratch = inputs.length > 1 ? new StagingWindow(arena, 4, n, true) : undefined;
      window.stream(n, { input: staged[0], output: { array: out, name: outName } }, (ptr, length, start) => {
        if (inputs.length === 0) arena.u32(ptr, length).fill(0);
        for (let i = 1; i < inputs.length; i++) {
          scratch!.load(staged[i]!, start, length);
          kernels.addWords(ptr, scratch!.ptr, length);
        }
        for (let first = 0; first < count; first += MASK_BATCH) {
          const m = Math.min(MASK_BATCH, count - first);
          const batchStates = states.subarray(first * GENERATOR_BYTES, (first + m) * GENERATOR_BYTES);
          arena.bytes(gens, batchStates.length).set(batchStates);
          arena.u32(flags, m).set(subtract.subarray(first, first + m));
          kernels.addKeystreams(gens, flags, m, ptr, length);
          batchStates.set(arena.bytes(gens, batchStates.length));
        }
        kernels.andWords(ptr, length, modulusMask);
      });
    });
  } finally {
    states.fill(0);
  }
  return out;
}

/**
 * 2^bits - 1 as an unsigned 32-bit mask, for 1 <= bits <= 32.
 *
 * @throws {PrivkitError} E_ARG when bits is not an integer in [1, 32].
 */
export function wordMask(bits: number): number {
  const b = assertInteger('bits', bits, 1);
  if (b > 32) throw new PrivkitError('E_ARG', `bits must be an integer in [1, 32], got ${b}`, { argument: 'bits' });
  return b === 32 ? 0xffffffff : 2 ** b - 1;
}
