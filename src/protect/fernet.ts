// Fernet tokens (version 0x80, https://github.com/fernet/spec; the format of Python
// cryptography's Fernet): AES-128-CBC with PKCS#7 padding, then HMAC-SHA-256 over version,
// timestamp, IV and ciphertext, all base64url (padded). Both primitives are WebCrypto's.
// Every invalid token (bad encoding, wrong key, tampered, expired, from the far future) is E_AUTH.
import { PrivkitError } from '../errors.js';
import { describe, readOptions } from '../validate.js';
import { checkNumber } from '../validate-arrays.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { bigEndian, concat, own, randomBytes, readBigEndian, utf8, wipe } from './bytes.js';

const VERSION = 0x80;
const IV_BYTES = 16;
const HMAC_BYTES = 32;
/** Version, timestamp and IV in front of the ciphertext. */
const HEAD_BYTES = 1 + 8 + IV_BYTES;
/** A token's timestamp may be at most this far in the future (seconds), as in Python cryptography. */
const MAX_CLOCK_SKEW = 60;
/** Longest token accepted (characters). */
const MAX_TOKEN_LENGTH = 1 << 28;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) SEXTET[ALPHABET.charCodeAt(i)] = i;

/** Padded base64url (RFC 4648 §5). */
function encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = Math.min(3, bytes.length - i);
    const v = (bytes[i]! << 16) | ((n > 1 ? bytes[i + 1]! : 0) << 8) | (n > 2 ? bytes[i + 2]! : 0);
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + (n > 1 ? ALPHABET[(v >>> 6) & 63]! : '=') + (n > 2 ? ALPHABET[v & 63]! : '=');
  }
  return out;
}

/** Strict padded base64url: a length that is a multiple of 4, only the alphabet, '=' only as final padding, zero spare bits; else undefined. */
function decode(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = text.charCodeAt(i + k);
      const s = c < 128 ? SEXTET[c]! : -1;
      if (s < 0 && !(c === 61 && i + k >= text.length - padding)) return undefined; // '=' only as the padding
      v = (v << 6) | Math.max(s, 0);
    }
    const bytes = [v >>> 16, (v >>> 8) & 255, v & 255];
    for (let k = 0; k < 3 && o < out.length; k++) out[o++] = bytes[k]!;
    if (i + 4 === text.length && ((padding === 1 && (v & 0xff) !== 0) || (padding === 2 && (v & 0xffff) !== 0))) return undefined;
  }
  return out;
}

/** The signing and encryption keys of a Fernet key (44 characters of padded base64url, 32 bytes). */
async function importKey(key: unknown): Promise<{ signing: CryptoKey; encryption: CryptoKey }> {
  const bytes = typeof key === 'string' && key.length === 44 ? decode(key) : undefined;
  if (bytes === undefined || bytes.length !== 32) {
    throw new PrivkitError('E_ARG', `key must be a Fernet key (32 bytes as 44 characters of base64url), got ${typeof key === 'string' ? `a string of ${key.length} characters` : describe(key)}`, {
      argument: 'key',
    });
  }
  try {
    const signing = await crypto.subtle.importKey('raw', own(bytes.subarray(0, 16)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    const encryption = await crypto.subtle.importKey('raw', own(bytes.subarray(16)), 'AES-CBC', false, ['encrypt', 'decrypt']);
    return { signing, encryption };
  } finally {
    wipe(bytes);
  }
}

function readNow(value: unknown): number {
  return value === undefined ? Math.floor(Date.now() / 1000) : checkNumber('opts.now', value, { integer: true, min: 0 });
}

/**
 * A fresh random Fernet key (32 bytes from the CSPRNG, as 44 characters of padded base64url), the
 * format of Python cryptography's `Fernet.generate_key()`.
 *
 * @example
 * ```ts
 * import { generateFernetKey } from 'privkit/protect';
 * console.log(generateFernetKey().length); // 44
 * ```
 */
export function generateFernetKey(): string {
  const bytes = randomBytes(32);
  const key = encode(bytes);
  wipe(bytes);
  return key;
}

/**
 * Encrypts `message` into a Fernet token (version 0x80) that Python cryptography's
 * `Fernet(key).decrypt` accepts.
 *
 * @param key - a Fernet key ({@link generateFernetKey}).
 * @param message - bytes, or a string (encoded as UTF-8).
 * @param opts - `now`: the token's timestamp in whole seconds since 1970 (default: the current time); `iv`: 16 bytes, only to reproduce test vectors (default: random, as it must be).
 * @returns the token (padded base64url).
 * @throws {PrivkitError} E_ARG for a bad key, message or option.
 *
 * @example
 * ```ts
 * import { fernetDecrypt, fernetEncrypt, generateFernetKey } from 'privkit/protect';
 * const key = generateFernetKey();
 * const token = await fernetEncrypt(key, 'hello');
 * console.log(new TextDecoder().decode(await fernetDecrypt(key, token, { ttl: 60 }))); // hello
 * ```
 */
export async function fernetEncrypt(key: string, message: Uint8Array | string, opts?: { now?: number; iv?: Uint8Array }): Promise<string> {
  const o = readOptions(opts, ['now', 'iv']);
  const now = readNow(o.now);
  let iv: Uint8Array<ArrayBuffer>;
  if (o.iv === undefined) iv = randomBytes(IV_BYTES);
  else {
    iv = own(checkTypedArray('opts.iv', o.iv, ['Uint8Array']));
    if (iv.length !== IV_BYTES) throw new PrivkitError('E_ARG', `opts.iv must have ${IV_BYTES} bytes, got ${describe(o.iv)}`, { argument: 'opts.iv' });
  }
  const plain = typeof message === 'string' ? utf8.encode(message) : own(checkTypedArray('message', message, ['Uint8Array']));
  const { signing, encryption } = await importKey(key);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv }, encryption, plain));
  const signed = concat([Uint8Array.of(VERSION), bigEndian(now, 8), iv, ciphertext]);
  const hmac = new Uint8Array(await crypto.subtle.sign('HMAC', signing, signed));
  return encode(concat([signed, hmac]));
}

/**
 * Decrypts and verifies a Fernet token (version 0x80), as the Fernet specification's verifying
 * steps say: encoding, version, age (with `opts.ttl`: not older than ttl seconds and not more than
 * 60 s in the future, as Python cryptography checks), HMAC-SHA-256 (constant time), AES-128-CBC
 * and its padding.
 *
 * @param key - the Fernet key the token was made with.
 * @param token - the token.
 * @param opts - `ttl`: the token's maximum age in seconds (default: no limit); `now`: the current time in whole seconds since 1970 (default: the clock).
 * @returns the message bytes.
 * @throws {PrivkitError} E_AUTH for any invalid token (malformed, wrong key, tampered, expired, from the far future); E_ARG for a bad key or option.
 *
 * @example
 * ```ts
 * import { fernetDecrypt } from 'privkit/protect';
 * const key = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
 * const token = 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';
 * console.log(new TextDecoder().decode(await fernetDecrypt(key, token))); // hello
 * ```
 */
export async function fernetDecrypt(key: string, token: string, opts?: { ttl?: number; now?: number }): Promise<Uint8Array> {
  const o = readOptions(opts, ['ttl', 'now']);
  const ttl = o.ttl === undefined ? undefined : checkNumber('opts.ttl', o.ttl, { integer: true, min: 0 });
  const now = readNow(o.now);
  if (typeof token !== 'string') throw new PrivkitError('E_ARG', `token must be a string, got ${describe(token)}`, { argument: 'token' });
  const { signing, encryption } = await importKey(key);
  const invalid = (why: string, cause?: unknown) => new PrivkitError('E_AUTH', `invalid Fernet token: ${why}`, { argument: 'token', cause });
  const bytes = token.length <= MAX_TOKEN_LENGTH ? decode(token) : undefined;
  if (bytes === undefined) throw invalid('not padded base64url');
  const cipherBytes = bytes.length - HEAD_BYTES - HMAC_BYTES;
  if (cipherBytes < 16 || cipherBytes % 16 !== 0) throw invalid('wrong length');
  if (bytes[0] !== VERSION) throw invalid(`version ${bytes[0]}`);
  const timestamp = readBigEndian(bytes, 1, 8);
  if (ttl !== undefined) {
    if (timestamp + ttl < now) throw invalid('expired');
    if (timestamp > now + MAX_CLOCK_SKEW) throw invalid('timestamp in the future');
  }
  const signed = bytes.subarray(0, bytes.length - HMAC_BYTES);
  if (!(await crypto.subtle.verify('HMAC', signing, own(bytes.subarray(signed.length)), own(signed)))) throw invalid('wrong HMAC (wrong key or tampered)');
  try {
    const iv = own(bytes.subarray(9, HEAD_BYTES));
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv }, encryption, own(bytes.subarray(HEAD_BYTES, signed.length))));
  } catch (cause) {
    throw invalid('bad padding', cause);
  }
}

