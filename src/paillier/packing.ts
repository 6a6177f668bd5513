// Packed vector encryption: many quantized entries per Paillier plaintext. Each entry is clipped to
// [-clip, clip], quantized to round(x * scale) and offset to [0, 2 maxAbs] (maxAbs = round(clip *
// scale)); slots are wide enough for the sum of `maxAdditions` such vectors, so up to that many
// encrypted vectors can be added (one ciphertext product per packed plaintext) without a slot
// carrying into the next. Adding more throws E_OVERFLOW instead of silently corrupting slots.
import { PrivkitError } from '../errors.js';
import { assertFloat32Array, assertInteger, assertNumber, describe, readArray, readOptions } from '../validate.js';
import { assertCiphertext, assertPrivateKey, assertPublicKey, type Ciphertext, type EncryptOptions, type PrivateKey, type PublicKey } from './keys.js';
import { bitLength } from './modpow.js';

/** Options of {@link encryptVector}: the quantization and the headroom for sums. */
export interface PackingOptions extends EncryptOptions {
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

/** An encrypted, packed vector: `count` encrypted vectors summed so far. */
export interface EncryptedVector {
  /** The key the ciphertexts are under. */
  publicKey: PublicKey;
  /** How the entries are packed into slots. */
  layout: PackingLayout;
  /** How many entries the vector has. */
  length: number;
  /** How many encrypted vectors this one is the sum of (1 when fresh; at most layout.maxAdditions). */
  count: number;
  /** ceil(length / layout.slots) ciphertexts, the first holding entries 0 to slots - 1 (entry 0 in the lowest slot). */
  ciphertexts: Ciphertext[];
}

/**
 * The slot layout for a key and options (throws when a single slot does not fit a plaintext).
 *
 * @throws {PrivkitError} E_ARG when opts is not an object, scale or clip is not finite and > 0, maxAdditions is not an integer >= 1, clip x scale does not round to an integer in [1, 2^53 / (2 maxAdditions)), or one slot does not fit the key.
 */
export function packingLayout(publicKey: PublicKey, given: PackingOptions): PackingLayout {
  assertPublicKey('publicKey', publicKey);
  const opts = readOptions(given, ['scale', 'clip', 'maxAdditions']);
  const scale = assertNumber('opts.scale', opts.scale, 'positive');
  const clip = assertNumber('opts.clip', opts.clip, 'positive');
  const maxAdditions = assertInteger('opts.maxAdditions', opts.maxAdditions, 1);
  const maxAbs = Math.round(clip * scale);
  if (!(maxAbs >= 1) || !Number.isSafeInteger(maxAbs * 2 * maxAdditions)) {
    throw new PrivkitError('E_ARG', `clip * scale must round to an integer in [1, 2^53 / (2 maxAdditions)), got ${clip * scale}`, { argument: 'opts.scale' });
  }
  const slotBits = bitLength(BigInt(2 * maxAbs * maxAdditions));
  const slots = Math.floor((publicKey.bits - 1) / slotBits);
  if (slots < 1) throw new PrivkitError('E_ARG', `a ${slotBits}-bit slot does not fit a ${publicKey.bits}-bit key`, { argument: 'opts' });
  return { scale, clip, maxAdditions, maxAbs, slotBits, slots };
}

/**
 * Encrypts x packed: ceil(x.length / slots) ciphertexts (entries must be finite). Each entry is
 * clipped to [-clip, clip] and quantized to round(x scale); up to `maxAdditions` such vectors can
 * then be summed under encryption with {@link addVectors}.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array, the packing options are invalid (see {@link packingLayout}), or opts.rng is not an Rng.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { addVectors, decryptVector, encryptVector, generateKeyPair } from 'privkit/paillier';
 * const { publicKey, privateKey } = await generateKeyPair({ bits: 2048 });
 * const opts = { scale: 2 ** 16, clip: 1, maxAdditions: 100 }; // resolution 2^-16, up to 100 clients
 * const a = encryptVector(publicKey, new Float32Array([0.5, -0.25, 0.75]), opts);
 * const b = encryptVector(publicKey, new Float32Array([0.25, 0.5, 2]), opts); // 2 is clipped to 1
 * const sum = decryptVector(privateKey, addVectors(publicKey, a, b)); // [0.75, 0.25, 1.75]
 * ```
 */
export function encryptVector(publicKey: PublicKey, x: Float32Array, opts: PackingOptions): EncryptedVector {
  const { layout, plaintexts } = packVector(publicKey, x, opts);
  const { rng } = readOptions(opts, ['rng']);
  const ciphertexts = plaintexts.map((m) => publicKey.encrypt(m, rng === undefined ? {} : { rng }));
  return { publicKey, layout, length: x.length, count: 1, ciphertexts };
}

/** The layout and the packed plaintexts of x (checked as encryptVector); shared with Pool.encryptVector. */
export function packVector(publicKey: PublicKey, x: Float32Array, opts: PackingOptions): { layout: PackingLayout; plaintexts: bigint[] } {
  assertFloat32Array('x', x);
  const layout = packingLayout(publicKey, opts);
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

/**
 * The packed sum of two encrypted vectors of the same key, layout and length.
 *
 * @throws {PrivkitError} E_ARG when a or b is not an EncryptedVector under publicKey or their layouts differ.
 * @throws {PrivkitError} E_SHAPE when their lengths differ.
 * @throws {PrivkitError} E_OVERFLOW when the sum would hold more than maxAdditions vectors.
 */
export function addVectors(publicKey: PublicKey, first: EncryptedVector, second: EncryptedVector): EncryptedVector {
  assertPublicKey('publicKey', publicKey);
  const a = checkVector(publicKey, first, 'a');
  const b = checkVector(publicKey, second, 'b');
  if (a.length !== b.length) throw new PrivkitError('E_SHAPE', `vector lengths differ: ${a.length} and ${b.length}`, { argument: 'b' });
  const la = a.layout;
  const lb = b.layout;
  if (la.scale !== lb.scale || la.clip !== lb.clip || la.maxAdditions !== lb.maxAdditions || la.slotBits !== lb.slotBits || la.slots !== lb.slots) {
    throw new PrivkitError('E_ARG', 'the vectors were packed with different layouts (scale, clip, maxAdditions)', { argument: 'b' });
  }
  const count = a.count + b.count;
  if (count > la.maxAdditions) {
    throw new PrivkitError('E_OVERFLOW', `the sum would hold ${count} vectors, beyond the slot headroom maxAdditions = ${la.maxAdditions}`, { argument: 'b' });
  }
  const ciphertexts = a.ciphertexts.map((c, i) => publicKey.add(c, b.ciphertexts[i]!));
  return { publicKey, layout: la, length: a.length, count, ciphertexts };
}

/**
 * The entries of an encrypted vector (a sum of `count` vectors), dequantized.
 *
 * @throws {PrivkitError} E_ARG when v is not an EncryptedVector under this key.
 * @throws {PrivkitError} E_SHAPE when v has the wrong number of ciphertexts for its length.
 * @throws {PrivkitError} E_OVERFLOW when a plaintext holds more than its slots (corrupted or over-added).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function decryptVector(privateKey: PrivateKey, v: EncryptedVector): Float64Array {
  assertPrivateKey('privateKey', privateKey);
  const checked = checkVector(privateKey.publicKey, v, 'v');
  return unpackVector(checked, checked.ciphertexts.map((c) => privateKey.decrypt(c)));
}

/** Checks that v is an EncryptedVector under privateKey with as many ciphertexts as its length needs. */
export function checkEncryptedVector(privateKey: PrivateKey, v: EncryptedVector): void {
  assertPrivateKey('privateKey', privateKey);
  checkVector(privateKey.publicKey, v, 'v');
}

/**
 * A copy of the encrypted vector `v` after checking it is one under `publicKey` whose parts agree:
 * its layout is the one packingLayout gives for its scale, clip and maxAdditions, count is in
 * [1, maxAdditions], and it holds ceil(length / slots) Ciphertexts of this key.
 */
function checkVector(publicKey: PublicKey, v: unknown, name: string): EncryptedVector {
  if (typeof v !== 'object' || v === null) throw new PrivkitError('E_ARG', `${name} must be an EncryptedVector, got ${describe(v)}`, { argument: name });
  const { publicKey: key, layout, length, count, ciphertexts } = v as Partial<EncryptedVector>;
  if (!(typeof key === 'object' && key !== null && publicKey.equals(key))) {
    throw new PrivkitError('E_ARG', `${name}.publicKey is not this public key`, { argument: `${name}.publicKey` });
  }
  const l = readOptions(layout, ['scale', 'clip', 'maxAdditions', 'maxAbs', 'slotBits', 'slots'], `${name}.layout`);
  let expected: PackingLayout;
  try {
    expected = packingLayout(publicKey, l as PackingLayout);
  } catch {
    throw new PrivkitError('E_ARG', `${name}.layout is not a packing layout`, { argument: `${name}.layout` });
  }
  for (const field of ['maxAbs', 'slotBits', 'slots'] as const) {
    if (l[field] !== expected[field]) throw new PrivkitError('E_ARG', `${name}.layout.${field} does not match its scale, clip and maxAdditions`, { argument: `${name}.layout` });
  }
  const n = assertInteger(`${name}.length`, length);
  const k = assertInteger(`${name}.count`, count, 1, expected.maxAdditions);
  const expectedCount = Math.ceil(n / expected.slots);
  if (!Array.isArray(ciphertexts)) {
    throw new PrivkitError('E_ARG', `${name}.ciphertexts must be an array of Ciphertexts, got ${describe(ciphertexts)}`, { argument: `${name}.ciphertexts` });
  }
  const list = readArray(`${name}.ciphertexts`, ciphertexts, (itemName, c, index) => {
    assertCiphertext(itemName, c);
    if (!c.publicKey.equals(publicKey)) {
      throw new PrivkitError('E_ARG', `${itemName} was encrypted under a different public key`, { argument: `${name}.ciphertexts`, index });
    }
    return c;
  }, expectedCount);
  if (list.length !== expectedCount) {
    throw new PrivkitError('E_SHAPE', `${name} has ${list.length} ciphertexts for ${n} values (${expectedCount} expected)`, { argument: `${name}.ciphertexts` });
  }
  return { publicKey, layout: expected, length: n, count: k, ciphertexts: list };
}

/** The dequantized entries of v from the plaintexts of its ciphertexts, in order. */
export function unpackVector(v: EncryptedVector, plaintexts: bigint[]): Float64Array {
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
