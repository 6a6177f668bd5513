// Pairwise and self masks of secure aggregation: each mask is the ChaCha20 keystream of a full
// 32-byte seed (never a truncated one, unlike Flower's 32-bit MT19937 seeding), read as 32-bit words
// and added to or subtracted from a vector in Z_2^b. Masks of opposite sign from the same seed cancel.
import { PrivkitError } from '../errors.js';
import { createRng } from '../dp/rng.js';
import { assertInteger, describe } from '../validate.js';
import { withWasm } from '../wasm/runtime.js';

export interface Mask {
  /** 32-byte seed of the mask's keystream. */
  seed: Uint8Array;
  /** Subtract the keystream instead of adding it. */
  subtract?: boolean;
}

/** Words per wasm call: a multiple of 64 (four ChaCha20 blocks), so streams continue across chunks. */
const CHUNK_WORDS = 1 << 16;

/**
 * Adds (or subtracts) each mask's keystream to `target` in place, mod 2^bits, and returns it.
 * Values of `target` must already lie in [0, 2^bits).
 */
export function applyMasks(target: Uint32Array, masks: readonly Mask[], bits = 32): Uint32Array {
  if (!(target instanceof Uint32Array)) {
    throw new PrivkitError('E_ARG', `target must be a Uint32Array, got ${describe(target)}`, { argument: 'target' });
  }
  const modulusMask = wordMask(bits);
  const generators = masks.map((mask, i) => {
    if (!(mask?.seed instanceof Uint8Array) || mask.seed.length !== 32) {
      throw new PrivkitError('E_ARG', `masks[${i}].seed must be a Uint8Array of 32 bytes, got ${describe(mask?.seed)}`, {
        argument: 'masks',
        index: i,
      });
    }
    return { rng: createRng({ seed: mask.seed }), subtract: mask.subtract === true };
  });
  withWasm((kernels, arena) => {
    const ptr = arena.alloc(Math.min(target.length, CHUNK_WORDS) * 4);
    for (let start = 0; start < target.length; start += CHUNK_WORDS) {
      const count = Math.min(CHUNK_WORDS, target.length - start);
      const chunk = target.subarray(start, start + count);
      arena.u32(ptr, count).set(chunk);
      for (const { rng, subtract } of generators) {
        rng.withGenerator((k, g) => k.addKeystream(g, ptr, count, subtract));
      }
      kernels.andWords(ptr, count, modulusMask);
      chunk.set(arena.u32(ptr, count));
    }
  });
  return target;
}

/** 2^bits - 1 as an unsigned 32-bit mask, for 1 <= bits <= 32. */
export function wordMask(bits: number): number {
  const b = assertInteger('bits', bits, 1);
  if (b > 32) throw new PrivkitError('E_ARG', `bits must be an integer in [1, 32], got ${b}`, { argument: 'bits' });
  return b === 32 ? 0xffffffff : 2 ** b - 1;
}
