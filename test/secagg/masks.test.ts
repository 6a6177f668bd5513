// Secure-aggregation masks: applyMasks adds exactly the ChaCha20 keystream of each 32-byte seed
// (the reference is the seeded generator's own output), in any chunking, mod 2^bits; opposite
// masks cancel; bad masks are rejected before anything is written.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { applyMasks, wordMask } from 'privkit/secagg';
import { maskedSum } from '../../dist/src/secagg/masks.js';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { dpWasm } from '../../dist/src/dp/wasm.js';
import { expectPrivkitError } from '../support/helpers.js';

beforeAll(ready);

const seedOf = (byte: number) => new Uint8Array(32).fill(byte);

/** The reference of maskedSum: the inputs summed in plain JS, then the reference masks. */
function referenceMaskedSum(inputs: Uint32Array[], length: number, masks: { seed: Uint8Array; subtract?: boolean }[], bits: number): Uint32Array {
  const sum = new Uint32Array(length);
  for (const input of inputs) for (let i = 0; i < length; i++) sum[i] = (sum[i]! + input[i]!) >>> 0;
  return referenceMask(sum, masks, bits);
}

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
  it('equals the reference for random lengths, masks, signs and bits', () => {
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
    const top = runtime.withWasm(dpWasm, (_k, arena) => arena.mark());
    const size = runtime.withWasm(dpWasm, (_k, arena) => arena.memoryBytes);
    for (let i = 0; i < 50; i++) applyMasks(x, [{ seed: seedOf(i) }, { seed: seedOf(i + 1), subtract: true }]);
    expect(runtime.withWasm(dpWasm, (_k, arena) => arena.mark())).toBe(top);
    expect(runtime.withWasm(dpWasm, (_k, arena) => arena.memoryBytes)).toBe(size);
  });

  it('across staging windows (1 MiB, 262,144 words each): equals the reference, alone and summed', () => {
    const length = 2 * 262_144 + 77;
    const inputs = [0, 1, 2].map((k) => new Uint32Array(length).map((_, i) => Math.imul(i + 31 * k, 2654435761) >>> 0));
    const masks = [{ seed: seedOf(7) }, { seed: seedOf(8), subtract: true }];
    expect(applyMasks(inputs[0]!.slice(), masks)).toEqual(referenceMask(inputs[0]!, masks, 32));
    expect(maskedSum(inputs, masks, 24)).toEqual(referenceMaskedSum(inputs, length, masks, 24));
  });

  it('with many masks equals the reference (every generator adds to every 1,024-word block, streams continue across blocks and chunks)', () => {
    const length = 70_001;
    const target = new Uint32Array(length).map((_, i) => Math.imul(i, 40503) & 0xfffff);
    const masks = Array.from({ length: 21 }, (_, i) => ({ seed: seedOf(100 + i), subtract: i % 3 === 0 }));
    expect(applyMasks(target.slice(), masks, 20)).toEqual(referenceMask(target, masks, 20));
  });
});

describe('maskedSum', () => {
  it('equals the sum of the inputs plus the masks mod 2^bits, for random counts, lengths, masks and bits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 140_000 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.record({ byte: fc.integer({ min: 0, max: 255 }), subtract: fc.boolean() }), { maxLength: 4 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer(),
        (length, count, maskSpecs, bits, salt) => {
          const m = wordMask(bits);
          const inputs = Array.from({ length: count }, (_, k) =>
            new Uint32Array(length).map((_, i) => (Math.imul(i + salt + 7919 * k, 2654435761) >>> 0) & m),
          );
          const copies = inputs.map((input) => input.slice());
          const masks = maskSpecs.map(({ byte, subtract }) => ({ seed: seedOf(byte), subtract }));
          expect(maskedSum(inputs, masks, bits, length)).toEqual(referenceMaskedSum(inputs, length, masks, bits));
          expect(inputs).toEqual(copies); // the inputs are left as they were
        },
      ),
      { numRuns: 12, seed: 11 },
    );
  });

  it('takes its length from the inputs; masks of opposite sign cancel in the sum', () => {
    const a = new Uint32Array(3000).map((_, i) => i & 0xffff);
    const b = new Uint32Array(3000).map((_, i) => (5 * i) & 0xffff);
    const maskedA = applyMasks(a.slice(), [{ seed: seedOf(4) }], 16);
    const maskedB = applyMasks(b.slice(), [{ seed: seedOf(4), subtract: true }], 16);
    expect(maskedSum([maskedA, maskedB], [], 16)).toEqual(a.map((v, i) => (v + b[i]!) & 0xffff));
    expect(maskedSum([], [{ seed: seedOf(4) }], 32, 100)).toEqual(applyMasks(new Uint32Array(100), [{ seed: seedOf(4) }]));
  });

  it('rejects inputs of another length or type, a missing length, bad masks or bits', () => {
    const ok = new Uint32Array(10);
    expectPrivkitError(() => maskedSum([ok, new Uint32Array(9)], []), 'E_SHAPE', 'inputs', 1);
    expectPrivkitError(() => maskedSum([ok], [], 32, 11), 'E_SHAPE', 'inputs', 0);
    expectPrivkitError(() => maskedSum([ok, new Int32Array(10) as unknown as Uint32Array], []), 'E_ARG', 'inputs', 1);
    expectPrivkitError(() => maskedSum([], []), 'E_ARG', 'length');
    expectPrivkitError(() => maskedSum([ok], [{ seed: new Uint8Array(31) }]), 'E_ARG', 'masks', 0);
    expectPrivkitError(() => maskedSum([ok], [], 0), 'E_ARG', 'bits');
  });

  it('releases its wasm memory after every call', () => {
    const inputs = Array.from({ length: 3 }, () => new Uint32Array(200_000));
    maskedSum(inputs, [{ seed: seedOf(1) }]);
    const top = runtime.withWasm(dpWasm, (_k, arena) => arena.mark());
    const size = runtime.withWasm(dpWasm, (_k, arena) => arena.memoryBytes);
    for (let i = 0; i < 20; i++) maskedSum(inputs, [{ seed: seedOf(i) }, { seed: seedOf(i + 1), subtract: true }]);
    expect(runtime.withWasm(dpWasm, (_k, arena) => arena.mark())).toBe(top);
    expect(runtime.withWasm(dpWasm, (_k, arena) => arena.memoryBytes)).toBe(size);
  });
});
