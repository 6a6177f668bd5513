// Packed vector encryption: many quantized entries per Paillier plaintext. Each entry is clipped to
// [-clip, clip], quantized to round(x * scale) and offset to [0, 2 maxAbs] (maxAbs = round(clip *
// scale)); slots are wide enough for the sum of `maxAdditions` such vectors, so up to that many
// encrypted vectors can be added (one ciphertext product per packed plaintext) without a slot
// carrying into the next. Adding more throws E_OVERFLOW instead of silently corrupting slots.
// The vectors themselves (EncryptedVector: encrypt, add, decrypt) live with the keys in ./keys.ts.
import { PrivkitError } from '../errors.js';
import type { Rng } from '../dp/rng.js';
import { assertFloat32Array, assertInteger, assertNumber, readOptions } from '../validate.js';
import { bitLength } from './modpow.js';

/** Options of encryptVector: the quantization, the headroom for sums and the generator. */
export interface PackingOptions {
  /** Generator for each ciphertext's r (default: the CSPRNG). A seeded generator is for tests only. */
  rng?: Rng;
  /** Quantization scale: an entry x becomes round(x * scale) (resolution 1 / scale). */
  scale: number;
  /** Entries are clipped to [-clip, clip] before quantization. */
  clip: number;
  /** How many encrypted vectors may be summed (the slot headroom), >= 1. */
  maxAdditions: number;
}

/** The slot layout shared by vectors that can be added. */
export interface PackingLayout {
  /** The quantization scale (see {@link PackingOptions.scale}). */
  scale: number;
  /** The clipping bound (see {@link PackingOptions.clip}). */
  clip: number;
  /** How many vectors a sum may hold (see {@link PackingOptions.maxAdditions}). */
  maxAdditions: number;
  /** round(clip * scale): the largest quantized magnitude (also the per-vector slot offset). */
  maxAbs: number;
  /** Bits per slot: enough for maxAdditions * 2 maxAbs. */
  slotBits: number;
  /** Slots per ciphertext. */
  slots: number;
}

/** The slot layout for a key of `bits` bits and the options (see the public packingLayout in ./keys.ts, which checks the key). */
export function layoutForKeyBits(bits: number, given: PackingOptions): PackingLayout {
  const opts = readOptions(given, ['scale', 'clip', 'maxAdditions']);
  const scale = assertNumber('opts.scale', opts.scale, 'positive');
  const clip = assertNumber('opts.clip', opts.clip, 'positive');
  const maxAdditions = assertInteger('opts.maxAdditions', opts.maxAdditions, 1);
  const maxAbs = Math.round(clip * scale);
  if (!(maxAbs >= 1) || !Number.isSafeInteger(maxAbs * 2 * maxAdditions)) {
    throw new PrivkitError('E_ARG', `clip * scale must round to an integer in [1, 2^53 / (2 maxAdditions)), got ${clip * scale}`, { argument: 'opts.scale' });
  }
  const slotBits = bitLength(BigInt(2 * maxAbs * maxAdditions));
  const slots = Math.floor((bits - 1) / slotBits);
  if (slots < 1) throw new PrivkitError('E_ARG', `a ${slotBits}-bit slot does not fit a ${bits}-bit key`, { argument: 'opts' });
  return { scale, clip, maxAdditions, maxAbs, slotBits, slots };
}

/** The layout and the packed plaintexts of x (checked as encryptVector); shared with the pooled encryptVector. */
export function packVector(publicKey: { readonly bits: number }, x: Float32Array, opts: PackingOptions): { layout: PackingLayout; plaintexts: bigint[] } {
  assertFloat32Array('x', x);
  const layout = layoutForKeyBits(publicKey.bits, opts);
  const { slots, slotBits, scale, clip, maxAbs } = layout;
  const plaintexts: bigint[] = [];
  const shift = BigInt(slotBits);
  for (let start = 0; start < x.length; start += slots) {
    let m = 0n;
    for (let i = Math.min(x.length, start + slots) - 1; i >= start; i--) {
      const v = x[i]!;
      if (!Number.isFinite(v)) throw new PrivkitError('E_NONFINITE', `x[${i}] is ${v}; values must be finite`, { argument: 'x', index: i });
      const q = Math.round(Math.min(clip, Math.max(-clip, v)) * scale);
      m = (m << shift) | BigInt(Math.min(maxAbs, Math.max(-maxAbs, q)) + maxAbs);
    }
    plaintexts.push(m);
  }
  return { layout, plaintexts };
}

/** The dequantized entries of v from the plaintexts of its ciphertexts, in order. */
export function unpackVector(v: { layout: PackingLayout; length: number; count: number }, plaintexts: bigint[]): Float64Array {
  const { slots, slotBits, scale, maxAbs } = v.layout;
  const out = new Float64Array(v.length);
  const mask = (1n << BigInt(slotBits)) - 1n;
  const shift = BigInt(slotBits);
  const offset = v.count * maxAbs;
  plaintexts.forEach((plaintext, k) => {
    let m = plaintext;
    const start = k * slots;
    for (let i = start; i < Math.min(v.length, start + slots); i++) {
      out[i] = (Number(m & mask) - offset) / scale;
      m >>= shift;
    }
    if (m !== 0n) throw new PrivkitError('E_OVERFLOW', `ciphertext ${k} holds more than its slots (corrupted or over-added)`, { argument: 'v', index: k });
  });
  return out;
}
