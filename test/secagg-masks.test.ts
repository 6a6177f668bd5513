// Secure-aggregation masks: applyMasks adds exactly the ChaCha20 keystream of each 32-byte seed
// (the reference is the seeded generator's own output), in any chunking, mod 2^bits; opposite
// masks cancel; bad masks are rejected before anything is written.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { applyMasks, wordMask } from 'privkit/secagg';
import * as runtime from '../dist/src/wasm/runtime.js';
import { expectPrivkitError } from './helpers.js';

beforeAll(ready);

const seedOf = (byte: number) => new Uint8Array(32).fill(byte);

/** The reference: target + sum of +-keystream words, mod 2^bits, in plain JS. */
function referenceMask(target: Uint32Array, masks: { seed: Uint8Array; subtract?: boolean }[], bits: number): Uint32Array {
  const out = target.slice();
  for (const mask of masks) {
    const keystream = createRng({ seed: mask.seed }).uint32(out.length);
    for (let i = 0; i < out.length; i++) out[i] = (mask.subtract ? out[i]! - keystream[i]! : out[i]! + keystream[i]!) >>> 0;
  }
  const m = wordMask(bits);
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! & m) >>> 0;
  return out;
}

describe('applyMasks', () => {
  it('equals the reference for random lengths (across the 65,536-word chunk boundary), masks, signs and bits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 140_000 }),
        fc.array(fc.record({ byte: fc.integer({ min: 0, max: 255 }), subtract: fc.boolean() }), { maxLength: 4 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer(),
        (length, maskSpecs, bits, salt) => {
          const m = wordMask(bits);
          const target = new Uint32Array(length).map((_, i) => (Math.imul(i + salt, 2654435761) >>> 0) & m);
          const masks = maskSpecs.map(({ byte, subtract }) => ({ seed: seedOf(byte), subtract }));
          const expected = referenceMask(target, masks, bits);
          expect(applyMasks(target, masks, bits)).toEqual(expected);
        },
      ),
      { numRuns: 25, seed: 6 },
    );
  });

  it('a mask and its negation cancel; pairwise masks of opposite sign cancel in a sum', () => {
    const x = new Uint32Array(1000).map((_, i) => i * 7);
    const masked = applyMasks(x.slice(), [{ seed: seedOf(1) }, { seed: seedOf(2), subtract: true }]);
    expect(masked).not.toEqual(x);
    expect(applyMasks(masked, [{ seed: seedOf(1), subtract: true }, { seed: seedOf(2) }])).toEqual(x);
    const a = applyMasks(new Uint32Array(1000).fill(5), [{ seed: seedOf(9) }], 16);
    const b = applyMasks(new Uint32Array(1000).fill(6), [{ seed: seedOf(9), subtract: true }], 16);
    expect(a.map((v, i) => (v + b[i]!) & 0xffff)).toEqual(new Uint32Array(1000).fill(11));
  });

  it('uses every byte of the seed: seeds that differ in the last byte give unrelated masks', () => {
    const s1 = seedOf(3);
    const s2 = seedOf(3);
    s2[31] = 4;
    const m1 = applyMasks(new Uint32Array(256), [{ seed: s1 }]);
    const m2 = applyMasks(new Uint32Array(256), [{ seed: s2 }]);
    expect(m1.filter((v, i) => v === m2[i]).length).toBeLessThan(3);
  });

  it('rejects a bad target, seed or bits, leaving the target unchanged', () => {
    const target = new Uint32Array(8).fill(1);
    expectPrivkitError(() => applyMasks(new Int32Array(8) as unknown as Uint32Array, []), 'E_ARG', 'target');
    expectPrivkitError(() => applyMasks(target, [{ seed: seedOf(1) }, { seed: new Uint8Array(16) }]), 'E_ARG', 'masks', 1);
    expectPrivkitError(() => applyMasks(target, [{ seed: seedOf(1) }], 0), 'E_ARG', 'bits');
    expectPrivkitError(() => applyMasks(target, [{ seed: seedOf(1) }], 33), 'E_ARG', 'bits');
    expect(target).toEqual(new Uint32Array(8).fill(1));
  });

  it('releases its wasm memory after every call', () => {
    const x = new Uint32Array(200_000);
    applyMasks(x, [{ seed: seedOf(1) }]);
    const top = runtime.withWasm((_k, arena) => arena.mark());
    const size = runtime.withWasm((_k, arena) => arena.memoryBytes);
    for (let i = 0; i < 50; i++) applyMasks(x, [{ seed: seedOf(i) }, { seed: seedOf(i + 1), subtract: true }]);
    expect(runtime.withWasm((_k, arena) => arena.mark())).toBe(top);
    expect(runtime.withWasm((_k, arena) => arena.memoryBytes)).toBe(size);
  });
});
