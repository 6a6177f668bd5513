// Plain-TypeScript reference of SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104): the oracle for
// the wasm kernel of keyed pseudonyms (assembly/protect/hmac.ts). Written for reading, one message
// at a time: the whole padded message is built, then hashed block by block.
import { checkTypedArray } from '../wasm/boundary.js';

/** FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** FIPS 180-4 section 5.3.3: the initial hash value. */
const IV = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/** FIPS 180-4 section 6.2.2: hashes the 64-byte block at block[at] into the 8-word state h. */
function compress(h: Uint32Array, block: Uint8Array, at: number): void {
  const view = new DataView(block.buffer, block.byteOffset + at, 64);
  const w = new Uint32Array(64);
  for (let t = 0; t < 16; t++) w[t] = view.getUint32(4 * t, false);
  for (let t = 16; t < 64; t++) {
    const s0 = rotr(w[t - 15]!, 7) ^ rotr(w[t - 15]!, 18) ^ (w[t - 15]! >>> 3);
    const s1 = rotr(w[t - 2]!, 17) ^ rotr(w[t - 2]!, 19) ^ (w[t - 2]! >>> 10);
    w[t] = w[t - 16]! + s0 + w[t - 7]! + s1;
  }
  let [a, b, c, d, e, f, g, hh] = [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!];
  for (let t = 0; t < 64; t++) {
    const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) >>> 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
    [hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
  }
  [a, b, c, d, e, f, g, hh].forEach((v, i) => (h[i] = h[i]! + v));
}

/**
 * Hashes `message` into the state h, as the tail of a stream of which `before` bytes (a multiple of
 * 64) were already hashed: FIPS 180-4 section 5.1.1 padding (0x80, zeros, the bit length big-endian).
 */
function absorbPadded(h: Uint32Array, message: Uint8Array, before: number): void {
  const padded = new Uint8Array(Math.ceil((message.length + 9) / 64) * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const bits = (before + message.length) * 8;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32), false);
  view.setUint32(padded.length - 4, bits >>> 0, false);
  for (let at = 0; at < padded.length; at += 64) compress(h, padded, at);
}

function bigEndian(h: Uint32Array): Uint8Array {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  h.forEach((word, i) => view.setUint32(4 * i, word, false));
  return out;
}

/**
 * Reference SHA-256 of `message` (32 bytes).
 *
 * @throws {PrivkitError} E_ARG when message is not an attached Uint8Array.
 */
export function sha256(message: Uint8Array): Uint8Array {
  checkTypedArray('message', message, ['Uint8Array']);
  const h = IV.slice();
  absorbPadded(h, message, 0);
  return bigEndian(h);
}

/**
 * RFC 2104 section 2: the SHA-256 states after the padded key block XOR ipad (0x36) and XOR opad
 * (0x5c); a key longer than the 64-byte block is hashed first. The inner state's words, then the
 * outer state's (16 words): what the wasm kernel keeps per key.
 *
 * @throws {PrivkitError} E_ARG when key is not an attached Uint8Array.
 */
export function hmacSha256KeyStates(key: Uint8Array): Uint32Array {
  checkTypedArray('key', key, ['Uint8Array']);
  const padded = new Uint8Array(64);
  padded.set(key.length > 64 ? sha256(key) : key);
  const states = new Uint32Array(16);
  for (const [pad, at] of [[0x36, 0], [0x5c, 8]] as const) {
    const h = IV.slice();
    compress(h, padded.map((byte) => byte ^ pad), 0);
    states.set(h, at);
  }
  return states;
}

/**
 * Reference HMAC-SHA-256 of `message` under `key` (32 bytes): H((K ^ opad) || H((K ^ ipad) || message)).
 *
 * @throws {PrivkitError} E_ARG when key or message is not an attached Uint8Array.
 */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  const states = hmacSha256KeyStates(key);
  checkTypedArray('message', message, ['Uint8Array']);
  const inner = states.slice(0, 8);
  absorbPadded(inner, message, 64);
  const outer = states.slice(8, 16);
  absorbPadded(outer, bigEndian(inner), 64);
  return bigEndian(outer);
}
