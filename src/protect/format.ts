// The container format of privkit/protect (docs/FORMAT.md is the normative text): the public
// header (magic, version, JSON header of algorithms, chunk size, nonce base, key commitment,
// recipient entries, signer), the encrypted manifest of named tensors, and the per-chunk nonce and
// AAD of AES-256-GCM in the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár (2015):
// nonce = nonceBase XOR chunk index, AAD = SHA-256(header) || index || final flag, so chunks can
// not be dropped, reordered, truncated or moved to another container.
import { PrivkitError } from '../errors.js';
import { fromBase64Url } from '../secagg/base64url.js';
import { bigEndian, concat, fromUtf8, readBigEndian, utf8 } from './bytes.js';
import { MAX_RECIPIENTS, type RecipientEntry } from './keys.js';

/** `\x89PKC\r\n\x1a\n`: a non-ASCII first byte and line-ending bytes, so text-mode mangling is caught (as PNG does). */
export const MAGIC = Uint8Array.of(0x89, 0x50, 0x4b, 0x43, 0x0d, 0x0a, 0x1a, 0x0a);
export const FORMAT_VERSION = 1;
/** Magic, version byte and the 4-byte big-endian header length. */
export const PREFIX_BYTES = MAGIC.length + 1 + 4;
/** Longest JSON header accepted (64 RSA-4096 recipients need about 45 KiB). */
export const MAX_HEADER_BYTES = 256 * 1024;
/** Longest encrypted manifest accepted. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
export const MAX_TENSORS = 65_536;
export const MAX_NAME_LENGTH = 1024;
export const MAX_RANK = 32;
/** Plaintext bytes per chunk: default 1 MiB, 16 B to 64 MiB. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;
export const MIN_CHUNK_SIZE = 16;
export const MAX_CHUNK_SIZE = 1 << 26;
export const MAX_CHUNKS = 2 ** 32;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 12;
export const SIGNATURE_BYTES = 64;
export const KEY_ID_BYTES = 16;
export const AEAD = 'AES-256-GCM';
export const SIGNATURE_ALGORITHM = 'Ed25519';

export const CHUNK_KEY_INFO = utf8.encode('privkit/protect/v1 chunk key');
export const COMMITMENT_INFO = utf8.encode('privkit/protect/v1 key commitment');
export const SIGNATURE_DOMAIN = utf8.encode('privkit/protect/v1 signature');

/** The element types a container carries, and their bytes per element (little-endian). */
export type TensorDtype = 'float32' | 'float64' | 'int32' | 'uint8';
export const DTYPE_BYTES: Readonly<Record<TensorDtype, number>> = { float32: 4, float64: 8, int32: 4, uint8: 1 };
export const DTYPES = Object.keys(DTYPE_BYTES) as TensorDtype[];

/** One tensor of a container's manifest. */
export interface TensorSpec {
  /** Unique within a container, 1 to 1,024 characters. */
  name: string;
  /** The element type. */
  dtype: TensorDtype;
  /** The dimensions (at most 32, each >= 0). */
  shape: number[];
}

/** The public header (JSON, UTF-8). */
export interface Header {
  aead: string;
  chunkSize: number;
  nonceBase: string;
  keyCommitment: string;
  recipients: RecipientEntry[];
  signer: { alg: string; keyId: string } | null;
}

/** Magic, version, length and JSON of a header. */
export function encodeHeader(header: Header): Uint8Array<ArrayBuffer> {
  const json = utf8.encode(JSON.stringify(header));
  return concat([MAGIC, Uint8Array.of(FORMAT_VERSION), bigEndian(json.length, 4), json]);
}

const malformed = (what: string) => new PrivkitError('E_AUTH', `container is malformed: ${what}`, { argument: 'container' });

/** The JSON length a prefix announces; a wrong magic or version -> E_ARG, an oversized header -> E_AUTH. */
export function readPrefix(prefix: Uint8Array): number {
  for (let i = 0; i < MAGIC.length; i++) {
    if (prefix[i] !== MAGIC[i]) throw new PrivkitError('E_ARG', 'container is not a privkit container (wrong magic bytes)', { argument: 'container' });
  }
  const version = prefix[MAGIC.length]!;
  if (version !== FORMAT_VERSION) {
    throw new PrivkitError('E_ARG', `container has format version ${version}; this privkit reads version ${FORMAT_VERSION}`, { argument: 'container' });
  }
  const length = readBigEndian(prefix, MAGIC.length + 1, 4);
  if (length < 2 || length > MAX_HEADER_BYTES) throw malformed(`header of ${length} bytes (at most ${MAX_HEADER_BYTES})`);
  return length;
}

/** Parses and checks the JSON header; anything off -> E_AUTH (it is attacker-controlled until the key commitment and chunk tags check). */
export function parseHeader(json: Uint8Array): { header: Header; nonceBase: Uint8Array; keyCommitment: Uint8Array } {
  const value = parseJson(json, 'header');
  if (!isRecord(value, ['aead', 'chunkSize', 'nonceBase', 'keyCommitment', 'recipients', 'signer'])) throw malformed('unexpected header fields');
  const h = value as unknown as Header;
  if (h.aead !== AEAD) throw malformed(`unknown aead ${String(h.aead).slice(0, 40)}`);
  if (!Number.isSafeInteger(h.chunkSize) || h.chunkSize < MIN_CHUNK_SIZE || h.chunkSize > MAX_CHUNK_SIZE) throw malformed('chunkSize out of range');
  const nonceBase = bytesField(h.nonceBase, NONCE_BYTES, 'nonceBase');
  const keyCommitment = bytesField(h.keyCommitment, 32, 'keyCommitment');
  if (!Array.isArray(h.recipients) || h.recipients.length === 0 || h.recipients.length > MAX_RECIPIENTS) throw malformed('recipients');
  for (const r of h.recipients) {
    if (!isRecord(r, ['type', 'keyId', 'ephemeralKey', 'kemCiphertext', 'salt', 'iterations', 'wrappedKey'], true) || typeof r.type !== 'string' || typeof r.wrappedKey !== 'string') {
      throw malformed('a recipient entry');
    }
  }
  if (h.signer !== null) {
    if (!isRecord(h.signer, ['alg', 'keyId']) || h.signer.alg !== SIGNATURE_ALGORITHM) throw malformed('signer');
    bytesField(h.signer.keyId, KEY_ID_BYTES, 'signer.keyId');
  }
  return { header: h, nonceBase, keyCommitment };
}

/** UTF-8 JSON that names no member twice in an object (readers differ on which of two it keeps: first or last). */
function parseJson(bytes: Uint8Array, what: 'header' | 'manifest'): unknown {
  let text: string;
  let value: unknown;
  try {
    text = fromUtf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw malformed(`the ${what} is not JSON`);
  }
  if (repeatsName(text)) throw malformed(`the ${what} repeats a member name in an object`);
  return value;
}

/** Whether valid JSON `text` has an object that repeats a member name (a string token followed by ':' is a name). */
function repeatsName(text: string): boolean {
  const scopes: (Set<string> | undefined)[] = []; // a Set of names per open object, undefined per open array
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') scopes.push(new Set());
    else if (c === '[') scopes.push(undefined);
    else if (c === '}' || c === ']') scopes.pop();
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      let next = end + 1;
      while (text[next] === ' ' || text[next] === '\t' || text[next] === '\n' || text[next] === '\r') next++;
      if (text[next] === ':') {
        const names = scopes[scopes.length - 1]!;
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) return true;
        names.add(name);
      }
      i = end;
    }
  }
  return false;
}

function isRecord(value: unknown, keys: readonly string[], optional = false): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const own = Object.keys(value);
  if (own.some((k) => !keys.includes(k))) return false;
  return optional || keys.every((k) => own.includes(k));
}

function bytesField(text: unknown, length: number, name: string): Uint8Array {
  let bytes: Uint8Array | undefined;
  try {
    if (typeof text === 'string') bytes = fromBase64Url(text, name);
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined || bytes.length !== length) throw malformed(`${name} must be ${length} bytes of base64url`);
  return bytes;
}

/** Chunk i's nonce: the nonce base with its last 8 bytes XOR the big-endian index. */
export function chunkNonce(nonceBase: Uint8Array, index: number): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(nonceBase);
  const counter = bigEndian(index, 8);
  for (let i = 0; i < 8; i++) nonce[NONCE_BYTES - 8 + i]! ^= counter[i]!;
  return nonce;
}

/** Chunk i's AAD: SHA-256(header bytes) || 8-byte big-endian index || final flag (1 for the last chunk, else 0). */
export function chunkAad(headerHash: Uint8Array, index: number, final: boolean): Uint8Array<ArrayBuffer> {
  return concat([headerHash, bigEndian(index, 8), Uint8Array.of(final ? 1 : 0)]);
}

/** The plaintext's first bytes: the manifest JSON's 4-byte big-endian length and the JSON. */
export function encodeManifest(specs: readonly TensorSpec[]): Uint8Array<ArrayBuffer> {
  const json = utf8.encode(JSON.stringify({ tensors: specs.map(({ name, dtype, shape }) => ({ name, dtype, shape })) }));
  return concat([bigEndian(json.length, 4), json]);
}

/** Bytes of a tensor of `spec`. */
export function tensorBytes(spec: TensorSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[spec.dtype];
}

/** Parses the decrypted manifest JSON (authentic, but from whoever held the key): malformed -> E_AUTH. */
export function parseManifest(json: Uint8Array): TensorSpec[] {
  const value = parseJson(json, 'manifest');
  if (!isRecord(value, ['tensors']) || !Array.isArray(value.tensors) || value.tensors.length > MAX_TENSORS) throw malformed('manifest');
  const names = new Set<string>();
  let total = 0;
  const specs = (value.tensors as unknown[]).map((t) => {
    if (!isRecord(t, ['name', 'dtype', 'shape'])) throw malformed('a manifest entry');
    const problem = specProblem(t.name, t.dtype, t.shape);
    if (problem !== undefined || names.has(t.name as string)) throw malformed(`manifest entry: ${problem?.message ?? 'a repeated name'}`);
    names.add(t.name as string);
    const spec = { name: t.name as string, dtype: t.dtype as TensorDtype, shape: [...(t.shape as number[])] };
    total += tensorBytes(spec);
    return spec;
  });
  if (!Number.isSafeInteger(total)) throw malformed('manifest size');
  return specs;
}

/** What is wrong with a tensor's name, dtype or shape (the field and why), or undefined. */
export function specProblem(name: unknown, dtype: unknown, shape: unknown): { field: 'name' | 'dtype' | 'shape'; message: string } | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) return { field: 'name', message: `a name must be a string of 1 to ${MAX_NAME_LENGTH} characters` };
  if (!DTYPES.includes(dtype as TensorDtype)) return { field: 'dtype', message: `dtype must be one of ${DTYPES.join(', ')}` };
  const shapeProblem = { field: 'shape' as const, message: `shape must be an array of at most ${MAX_RANK} integers >= 0` };
  if (!Array.isArray(shape) || shape.length > MAX_RANK) return shapeProblem;
  let bytes = DTYPE_BYTES[dtype as TensorDtype];
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i]; // by index: a hole is undefined, not skipped
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return shapeProblem;
    bytes *= d;
  }
  return Number.isSafeInteger(bytes) ? undefined : { field: 'shape', message: 'the tensor is too large' };
}
