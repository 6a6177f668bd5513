// Pairwise and self masks of secure aggregation: each mask is the ChaCha20 keystream of a full
// 32-byte seed (never a truncated one, unlike Flower's 32-bit MT19937 seeding), read as 32-bit words
// and added to or subtracted from a vector in Z_2^b. Masks of opposite sign from the same seed cancel.
import { PrivkitError } from '../errors.js';
import { createRng } from '../dp/rng.js';
import { assertBytes, assertInteger, assertTypedArray, describe, optionalBoolean, readArray } from '../validate.js';
import type { Arena } from '../wasm/arena.js';
import { withWasm, type Kernels } from '../wasm/runtime.js';

export interface Mask {
  /** 32-byte seed of the mask's keystream. */
  seed: Uint8Array;
  /** Subtract the keystream instead of adding it. */
  subtract?: boolean;
}

/** Words per chunk copied into wasm memory: a multiple of 64 (four ChaCha20 blocks), so streams continue across chunks. */
const CHUNK_WORDS = 1 << 16;

/**
 * Adds (or subtracts) each mask's keystream to `target` in place, mod 2^bits, and returns it.
 * Values of `target` must already lie in [0, 2^bits).
 */
export function applyMasks(target: Uint32Array, masks: readonly Mask[], bits = 32): Uint32Array {
  assertTypedArray('target', target, [Uint32Array]);
  return combine(target, [target], masks, bits);
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
  const n = length === undefined ? inputs[0]?.length : assertInteger('length', length);
  if (n === undefined) throw new PrivkitError('E_ARG', 'length is required when inputs is empty', { argument: 'length' });
  inputs.forEach((input, i) => {
    if (!(input instanceof Uint32Array)) {
      throw new PrivkitError('E_ARG', `inputs[${i}] must be a Uint32Array, got ${describe(input)}`, { argument: 'inputs', index: i });
    }
    if (input.length !== n) {
      throw new PrivkitError('E_SHAPE', `inputs[${i}] has length ${input.length}, expected ${n}`, { argument: 'inputs', index: i });
    }
  });
  return combine(new Uint32Array(n), inputs, masks, bits);
}

/**
 * out = (sum of `inputs` + sum of +-keystreams) mod 2^bits, one chunk of CHUNK_WORDS at a time:
 * the inputs are copied into wasm and added (addWords), then every mask is added to the chunk by
 * addKeystreams with all generators in wasm memory at once. `out` may be one of the inputs.
 */
function combine(out: Uint32Array, inputs: readonly Uint32Array[], given: readonly Mask[], bits: number): Uint32Array {
  const modulusMask = wordMask(bits);
  if (!Array.isArray(given)) {
    throw new PrivkitError('E_ARG', `masks must be an array, got ${describe(given)}`, { argument: 'masks' });
  }
  // each mask read once, into a checked copy (a for loop in readArray: a hole is refused)
  const masks = readArray('masks', given, (name, mask): Mask => {
    if (typeof mask !== 'object' || mask === null) throw new PrivkitError('E_ARG', `${name} must be { seed, subtract? }, got ${describe(mask)}`, { argument: name });
    const { seed, subtract } = mask as Mask;
    return { seed: assertBytes(`${name}.seed`, seed, 32), subtract: optionalBoolean(`${name}.subtract`, subtract) };
  });
  const states = generatorStates(masks);
  withWasm((kernels, arena) => {
    const count = masks.length;
    const gens = arena.alloc(states.length);
    arena.bytes(gens, states.length).set(states);
    const subtract = arena.alloc(count * 4);
    arena.u32(subtract, count).set(masks.map((mask) => (mask.subtract === true ? 1 : 0)));
    const words = Math.min(out.length, CHUNK_WORDS);
    const ptr = arena.alloc(words * 4);
    const scratch = inputs.length > 1 ? arena.alloc(words * 4) : 0;
    for (let start = 0; start < out.length; start += CHUNK_WORDS) {
      const end = Math.min(out.length, start + CHUNK_WORDS);
      const n = end - start;
      if (inputs.length === 0) arena.u32(ptr, n).fill(0);
      else arena.u32(ptr, n).set(inputs[0]!.subarray(start, end));
      for (let i = 1; i < inputs.length; i++) {
        arena.u32(scratch, n).set(inputs[i]!.subarray(start, end));
        kernels.addWords(ptr, scratch, n);
      }
      if (count > 0) kernels.addKeystreams(gens, subtract, count, ptr, n);
      kernels.andWords(ptr, n, modulusMask);
      out.set(arena.u32(ptr, n), start);
    }
  });
  return out;
}

/** The initial generator state of each mask's seed (ChaCha20, stream 0), back to back, as addKeystreams reads them. */
function generatorStates(masks: readonly Mask[]): Uint8Array {
  const bytes = withWasm((kernels: Kernels) => kernels.generatorBytes());
  const states = new Uint8Array(masks.length * bytes);
  masks.forEach((mask, i) =>
    createRng({ seed: mask.seed }).withGenerator((_kernels: Kernels, g: number, arena: Arena) => states.set(arena.bytes(g, bytes), i * bytes)),
  );
  return states;
}

/** 2^bits - 1 as an unsigned 32-bit mask, for 1 <= bits <= 32. */
export function wordMask(bits: number): number {
  const b = assertInteger('bits', bits, 1);
  if (b > 32) throw new PrivkitError('E_ARG', `bits must be an integer in [1, 32], got ${b}`, { argument: 'bits' });
  return b === 32 ? 0xffffffff : 2 ** b - 1;
}
