// Unpadded base64url (RFC 4648 §5), strict on decoding: the byte fields of secure-aggregation
// messages on the wire and the raw keys WebCrypto exports as JWK.
import { PrivkitError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ENCODE = new TextEncoder().encode(ALPHABET);
const DECODE = new Int8Array(128).fill(-1);
ENCODE.forEach((code, i) => (DECODE[code] = i));

/** Unpadded base64url (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil((bytes.length * 4) / 3));
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = ENCODE[(v >>> 6) & 63]!;
    out[o++] = ENCODE[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const v = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    if (rest === 2) out[o++] = ENCODE[(v >>> 6) & 63]!;
  }
  return new TextDecoder().decode(out);
}

/** Strict unpadded base64url: other characters, a dangling character or non-zero spare bits -> E_PROTOCOL. */
export function fromBase64Url(text: string, argument = 'text'): Uint8Array {
  const codes = new TextEncoder().encode(text);
  const bad = () => new PrivkitError('E_PROTOCOL', `${argument} is not canonical unpadded base64url`, { argument });
  if (codes.length !== text.length || text.length % 4 === 1) throw bad();
  const sextet = (k: number): number => {
    const v = codes[k]! < 128 ? DECODE[codes[k]!]! : -1;
    if (v < 0) throw bad();
    return v;
  };
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let k = 0;
  for (; k + 3 < codes.length; k += 4) {
    const v = (sextet(k) << 18) | (sextet(k + 1) << 12) | (sextet(k + 2) << 6) | sextet(k + 3);
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  }
  const rest = codes.length - k;
  if (rest > 0) {
    const v = (sextet(k) << 18) | (sextet(k + 1) << 12) | (rest === 3 ? sextet(k + 2) << 6 : 0);
    if ((rest === 2 ? v & 0xffff : v & 0xff) !== 0) throw bad();
    out[o++] = v >>> 16;
    if (rest === 3) out[o++] = (v >>> 8) & 255;
  }
  return out;
}
