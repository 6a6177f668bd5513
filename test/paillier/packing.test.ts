// Packed vector encryption: round trips within the quantization step, sums of up to maxAdditions
// vectors, E_OVERFLOW beyond the headroom, clipping, layout/shape mismatches and bad inputs.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from 'privkit/dp';
import { generateKeyPair, packingLayout, ready, type EncryptedVector, type KeyPair } from 'privkit/paillier';
import { errorCode } from '../support/helpers.js';

let keys: KeyPair;
const opts = { scale: 2 ** 16, clip: 4, maxAdditions: 5 };

/** Deterministic test vectors in (-3, 3). */
const vector = (length: number, seed: number) => Float32Array.from({ length }, (_, i) => 3 * Math.sin(seed * 1000 + i * 0.7));

beforeAll(async () => {
  await ready();
  keys = await generateKeyPair({ bits: 1024, allowInsecureTestKeys: true, rng: createRng({ seed: new Uint8Array(32).fill(51) }) });
});

describe('packed vectors', () => {
  it('layout: slots wide enough for maxAdditions sums, as many as fit below n', () => {
    const layout = packingLayout(keys.publicKey, opts);
    expect(layout.maxAbs).toBe(4 * 2 ** 16);
    expect(2 ** layout.slotBits).toBeGreaterThan(2 * layout.maxAbs * opts.maxAdditions);
    expect(layout.slots).toBe(Math.floor(1023 / layout.slotBits));
  });

  it('round trip within half a quantization step, lengths around the slot count', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const slots = packingLayout(pk, opts).slots;
    for (const length of [0, 1, slots - 1, slots, slots + 1, 3 * slots + 5]) {
      const x = vector(length, length);
      const v = pk.encryptVector(x, opts);
      expect(v.ciphertexts.length).toBe(Math.ceil(length / slots));
      const y = sk.decryptVector(v);
      expect(y.length).toBe(length);
      for (let i = 0; i < length; i++) expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(0.5 / opts.scale);
    }
  });

  it('sums of up to maxAdditions vectors (including extreme values at +-clip) decode exactly; one more throws E_OVERFLOW', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const length = 70;
    const xs = [vector(length, 1), vector(length, 2), new Float32Array(length).fill(4), new Float32Array(length).fill(-4), vector(length, 5)];
    let total: EncryptedVector = pk.encryptVector(xs[0]!, opts);
    for (const x of xs.slice(1)) total = pk.addVectors(total, pk.encryptVector(x, opts));
    expect(total.count).toBe(5);
    const y = sk.decryptVector(total);
    for (let i = 0; i < length; i++) {
      const expected = xs.reduce((s, x) => s + Math.round(x[i]! * opts.scale), 0) / opts.scale;
      expect(y[i]).toBe(expected);
    }
    // all at +clip: the largest slot value, still no carry
    let top: EncryptedVector = pk.encryptVector(new Float32Array(length).fill(4), opts);
    for (let k = 1; k < 5; k++) top = pk.addVectors(top, pk.encryptVector(new Float32Array(length).fill(4), opts));
    expect(Array.from(sk.decryptVector(top))).toEqual(new Array(length).fill(20));
    expect(errorCode(() => pk.addVectors(total, pk.encryptVector(xs[0]!, opts)))).toBe('E_OVERFLOW');
  });

  it('clips entries to [-clip, clip]', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const y = sk.decryptVector(pk.encryptVector(Float32Array.of(100, -100, 1.5), opts));
    expect(Array.from(y)).toEqual([4, -4, 1.5]);
  });

  it('rejects bad inputs, options, shapes, layouts and foreign keys', async () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const other = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: createRng({ seed: new Uint8Array(32).fill(52) }) });
    const a = pk.encryptVector(vector(10, 1), opts);
    expect(errorCode(() => pk.encryptVector([1, 2] as unknown as Float32Array, opts))).toBe('E_ARG');
    expect(errorCode(() => pk.encryptVector(Float32Array.of(1, NaN), opts))).toBe('E_NONFINITE');
    expect(errorCode(() => pk.encryptVector(vector(3, 1), { ...opts, scale: 0 }))).toBe('E_ARG');
    expect(errorCode(() => pk.encryptVector(vector(3, 1), { ...opts, clip: -1 }))).toBe('E_ARG');
    expect(errorCode(() => pk.encryptVector(vector(3, 1), { ...opts, maxAdditions: 0 }))).toBe('E_ARG');
    expect(errorCode(() => pk.encryptVector(vector(3, 1), { ...opts, scale: 1e-9 }))).toBe('E_ARG');
    expect(errorCode(() => packingLayout(other.publicKey, { scale: 2 ** 40, clip: 2 ** 12, maxAdditions: 2 ** 20 }))).toBe('E_ARG'); // slot range beyond 2^53
    expect(errorCode(() => pk.addVectors(a, pk.encryptVector(vector(11, 1), opts)))).toBe('E_SHAPE');
    expect(errorCode(() => pk.addVectors(a, pk.encryptVector(vector(10, 1), { ...opts, scale: 2 ** 10 })))).toBe('E_ARG');
    expect(errorCode(() => pk.addVectors(a, other.publicKey.encryptVector(vector(10, 1), opts)))).toBe('E_ARG');
    expect(errorCode(() => other.privateKey.decryptVector(a))).toBe('E_ARG');
    expect(errorCode(() => sk.decryptVector({ ...a, length: 1000 }))).toBe('E_SHAPE');
  });
});
