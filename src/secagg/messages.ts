// The messages of secure aggregation (the four rounds of Bonawitz et al. 2017, Fig. 4) as plain,
// structured-cloneable objects with Uint8Array / Uint32Array fields, one schema per message type,
// and their JSON-safe wire form (byte fields as unpadded base64url, vectors as base64url of
// little-endian 32-bit words) so a browser can talk to a Node server over any transport.
// Every message names its round id; client messages name their sender, server messages their recipient.
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import type { KeyAgreementCurve } from './crypto.js';
import { wordMask } from './masks.js';

/** Setup (server -> every client): the round's parameters, before AdvertiseKeys. */
export interface SetupMessage {
  type: 'setup';
  roundId: string;
  /** Registered client ids; a client's index here orders the pairwise masks and gives its share point x = index + 1. */
  clients: string[];
  bits: number;
  length: number;
  threshold: number;
  /** SecAgg+ degree k (absent: complete graph). */
  neighbours?: number;
  /** Public randomness that places the clients on the SecAgg+ ring. */
  graphSeed: Uint8Array;
  curve: KeyAgreementCurve;
}

/** Round 0, AdvertiseKeys (client -> server): the client's two public keys. */
export interface AdvertiseKeysMessage {
  type: 'advertise-keys';
  roundId: string;
  sender: string;
  /** Public key of the pair that encrypts shares. */
  cPublicKey: Uint8Array;
  /** Public key of the pair that agrees pairwise mask seeds. */
  sPublicKey: Uint8Array;
}

export interface PublicKeys {
  id: string;
  cPublicKey: Uint8Array;
  sPublicKey: Uint8Array;
}

/** Server -> client after AdvertiseKeys: the keys of the recipient's neighbours (and its own) that arrived (U1). */
export interface PublicKeysMessage {
  type: 'public-keys';
  roundId: string;
  recipient: string;
  keys: PublicKeys[];
}

export interface EncryptedShare {
  /** The other end: the recipient in a ShareKeys message, the sender in an EncryptedShares message. */
  peer: string;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

/**
 * Round 1, ShareKeys (client -> server): the shares of s_u^SK and b_u, encrypted for each
 * neighbour, and the commitment to b_u the server checks the rebuilt b_u against.
 */
export interface ShareKeysMessage {
  type: 'share-keys';
  roundId: string;
  sender: string;
  shares: EncryptedShare[];
  /** C_u = SHA-256 commitment to the self-mask seed b_u (32 bytes; encoding in crypto.ts, commitSelfMaskSeed). */
  selfMaskCommitment: Uint8Array;
}

/** Server -> client after ShareKeys: the ciphertexts addressed to the recipient; their senders are U2. */
export interface EncryptedSharesMessage {
  type: 'encrypted-shares';
  roundId: string;
  recipient: string;
  shares: EncryptedShare[];
}

/** Round 2, MaskedInputCollection (client -> server): y_u in Z_2^bits. */
export interface MaskedInputMessage {
  type: 'masked-input';
  roundId: string;
  sender: string;
  maskedInput: Uint32Array;
}

/** Server -> client after MaskedInputCollection: whose self-mask shares (U3) and whose key shares (U2 \ U3) to reveal. */
export interface UnmaskRequestMessage {
  type: 'unmask-request';
  roundId: string;
  recipient: string;
  survivors: string[];
  dropped: string[];
}

export interface RevealedShare {
  owner: string;
  /** The share value f(x), big-endian, SHAMIR_SHARE_BYTES bytes. */
  share: Uint8Array;
}

/** Round 3, Unmasking (client -> server): b-shares of survivors, s-key shares of dropped clients. */
export interface UnmaskMessage {
  type: 'unmasking';
  roundId: string;
  sender: string;
  selfMaskShares: RevealedShare[];
  keyShares: RevealedShare[];
}

export type ClientMessage = AdvertiseKeysMessage | ShareKeysMessage | MaskedInputMessage | UnmaskMessage;
export type ServerMessage = SetupMessage | PublicKeysMessage | EncryptedSharesMessage | UnmaskRequestMessage;
export type SecAggMessage = ClientMessage | ServerMessage;

/** A message in its JSON-safe wire form. */
export type EncodedMessage = { type: SecAggMessage['type'] } & Record<string, unknown>;

type Field = 'string' | 'integer' | 'curve' | 'bytes' | 'words' | 'strings' | { optional: Field } | { list: Schema };
type Schema = Readonly<Record<string, Field>>;

const SHARE: Schema = { peer: 'string', iv: 'bytes', ciphertext: 'bytes' };
const REVEALED: Schema = { owner: 'string', share: 'bytes' };
const SCHEMAS: Readonly<Record<SecAggMessage['type'], Schema>> = {
  setup: {
    roundId: 'string',
    clients: 'strings',
    bits: 'integer',
    length: 'integer',
    threshold: 'integer',
    neighbours: { optional: 'integer' },
    graphSeed: 'bytes',
    curve: 'curve',
  },
  'advertise-keys': { roundId: 'string', sender: 'string', cPublicKey: 'bytes', sPublicKey: 'bytes' },
  'public-keys': {
    roundId: 'string',
    recipient: 'string',
    keys: { list: { id: 'string', cPublicKey: 'bytes', sPublicKey: 'bytes' } },
  },
  'share-keys': { roundId: 'string', sender: 'string', shares: { list: SHARE }, selfMaskCommitment: 'bytes' },
  'encrypted-shares': { roundId: 'string', recipient: 'string', shares: { list: SHARE } },
  'masked-input': { roundId: 'string', sender: 'string', maskedInput: 'words' },
  'unmask-request': { roundId: 'string', recipient: 'string', survivors: 'strings', dropped: 'strings' },
  unmasking: { roundId: 'string', sender: 'string', selfMaskShares: { list: REVEALED }, keyShares: { list: REVEALED } },
};

/**
 * Checks that `message` is a well-formed message of type `type` (right field types; no length or
 * protocol checks) and returns it typed. Malformed -> E_PROTOCOL.
 */
export function checkMessage<T extends SecAggMessage['type']>(
  message: unknown,
  type: T,
): Extract<SecAggMessage, { type: T }> {
  if (!isObject(message) || message.type !== type) {
    const got = isObject(message) ? JSON.stringify(message.type) : typeof message;
    throw new PrivkitError('E_PROTOCOL', `expected a '${type}' message, got ${got}`, { argument: 'message' });
  }
  walk(message, SCHEMAS[type], 'message', (value, field, path) => {
    if (!matches(value, field)) throw malformed(path, field);
    return value;
  });
  return message as unknown as Extract<SecAggMessage, { type: T }>;
}

/** The JSON-safe form of a message (JSON.stringify it, or send it over structured clone). */
export function encodeMessage(message: SecAggMessage): EncodedMessage {
  const type = typeOf(message);
  checkMessage(message, type);
  return {
    type,
    ...walk(message as unknown as Record<string, unknown>, SCHEMAS[type], 'message', (value, field) =>
      field === 'bytes' ? toBase64Url(value as Uint8Array) : field === 'words' ? toBase64Url(wordsToBytes(value as Uint32Array)) : value,
    ),
  } as EncodedMessage;
}

/** Parses the wire form (an object or its JSON text) back into a message; malformed -> E_PROTOCOL. */
export function decodeMessage(encoded: unknown): SecAggMessage {
  const object = typeof encoded === 'string' ? parseJson(encoded) : encoded;
  const type = typeOf(object);
  const decoded = {
    type,
    ...walk(object as Record<string, unknown>, SCHEMAS[type], 'message', (value, field, path) => {
      if (field === 'bytes' || field === 'words') {
        if (typeof value !== 'string') throw malformed(path, field);
        const bytes = fromBase64Url(value, path);
        if (field === 'bytes') return bytes;
        if (bytes.length % 4 !== 0) throw malformed(path, field);
        return bytesToWords(bytes);
      }
      if (!matches(value, field)) throw malformed(path, field);
      return value;
    }),
  };
  return checkMessage(decoded, type);
}

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

function wordsToBytes(words: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(4 * i, words[i]!, true);
  return bytes;
}

function bytesToWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(4 * i, true);
  return words;
}

/**
 * Copies the schema's fields of `object` (and only those), mapping each leaf through `leaf`;
 * lists are walked element by element, absent optional fields stay absent.
 */
function walk(
  object: Record<string, unknown>,
  schema: Schema,
  path: string,
  leaf: (value: unknown, field: Field, path: string) => unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) {
    const value = object[name];
    const at = `${path}.${name}`;
    if (typeof field === 'object' && 'optional' in field) {
      if (value !== undefined) out[name] = leaf(value, field.optional, at);
    } else if (typeof field === 'object') {
      if (!Array.isArray(value)) throw malformed(at, 'list');
      out[name] = value.map((item: unknown, i) => {
        if (!isObject(item)) throw malformed(`${at}[${i}]`, 'object');
        return walk(item, field.list, `${at}[${i}]`, leaf);
      });
    } else {
      out[name] = leaf(value, field, at);
    }
  }
  return out;
}

function matches(value: unknown, field: Field): boolean {
  switch (field) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger(value);
    case 'curve':
      return value === 'X25519' || value === 'P-256';
    case 'bytes':
      return value instanceof Uint8Array;
    case 'words':
      return value instanceof Uint32Array;
    case 'strings':
      return Array.isArray(value) && value.every((s) => typeof s === 'string');
    default:
      return false;
  }
}

function typeOf(message: unknown): SecAggMessage['type'] {
  const type = isObject(message) ? message.type : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(SCHEMAS, type)) {
    throw new PrivkitError('E_PROTOCOL', `not a secure-aggregation message (type ${JSON.stringify(type)})`, {
      argument: 'message',
    });
  }
  return type as SecAggMessage['type'];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new PrivkitError('E_PROTOCOL', 'message is not valid JSON', { argument: 'message', cause });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(path: string, field: Field | 'list' | 'object'): PrivkitError {
  const expected = typeof field === 'string' ? field : 'optional' in field ? field.optional : 'list';
  return new PrivkitError('E_PROTOCOL', `malformed message: ${path} must be ${expected}`, { argument: 'message' });
}

/** Largest supported vector length (one Uint32Array of the masked input). */
export const MAX_VECTOR_LENGTH = 2 ** 30;

/**
 * Checks the round parameters of a setup message (or the server's options). Bad values throw
 * `code` (E_ARG for options, E_PROTOCOL for a received message); duplicate client ids always
 * throw E_PROTOCOL.
 */
export function checkRoundParameters(
  p: Omit<SetupMessage, 'type' | 'clients'> & { clients: readonly string[] },
  code: 'E_ARG' | 'E_PROTOCOL',
): void {
  const fail = (argument: string, message: string) => new PrivkitError(code, message, { argument });
  if (typeof p.roundId !== 'string' || p.roundId.length === 0) throw fail('roundId', 'roundId must be a non-empty string');
  if (!Array.isArray(p.clients) || p.clients.length === 0) throw fail('clients', 'clients must be a non-empty array of ids');
  const seen = new Set<string>();
  p.clients.forEach((id, i) => {
    if (typeof id !== 'string' || id.length === 0) throw fail('clients', `clients[${i}] must be a non-empty string`);
    if (seen.has(id)) {
      throw new PrivkitError('E_PROTOCOL', `duplicate client id ${JSON.stringify(id)} at clients[${i}]`, {
        argument: 'clients',
        index: i,
      });
    }
    seen.add(id);
  });
  if (!Number.isSafeInteger(p.bits) || p.bits < 1 || p.bits > 32) throw fail('bits', `bits must be an integer in [1, 32], got ${p.bits}`);
  if (!Number.isSafeInteger(p.length) || p.length < 1 || p.length > MAX_VECTOR_LENGTH) {
    throw fail('length', `length must be an integer in [1, 2^30], got ${p.length}`);
  }
  if (p.neighbours !== undefined) {
    if (!Number.isSafeInteger(p.neighbours) || p.neighbours < 2 || p.neighbours % 2 !== 0) {
      throw fail('neighbours', `neighbours must be an even integer >= 2, got ${p.neighbours}`);
    }
  }
  // Bonawitz et al. 2017 (Sec. 4) need t > n/2 so that the server can not collect both shares of
  // one client (its b-share from some honest clients, its key share from others); with SecAgg+ the
  // shares live in a neighbourhood of min(n, k + 1) clients, so t must be a strict majority of it.
  const neighbourhood = Math.min(p.neighbours ?? Infinity, p.clients.length - 1) + 1;
  const lowest = Math.floor(neighbourhood / 2) + 1;
  if (!Number.isSafeInteger(p.threshold) || p.threshold < lowest || p.threshold > neighbourhood) {
    throw fail(
      'threshold',
      `threshold must be an integer in [${lowest}, ${neighbourhood}] (a strict majority of the neighbourhood of ` +
        `${neighbourhood} clients, client included), got ${p.threshold}`,
    );
  }
  if (!(p.graphSeed instanceof Uint8Array) || p.graphSeed.length !== 32) throw fail('graphSeed', 'graphSeed must be 32 bytes');
  if (p.curve !== 'X25519' && p.curve !== 'P-256') throw fail('curve', `curve must be 'X25519' or 'P-256', got ${String(p.curve)}`);
}

/** A vector of Z_2^bits: a Uint32Array of the round's length with every value < 2^bits. */
export function checkVector(argument: string, vector: unknown, length: number, bits: number): asserts vector is Uint32Array {
  if (!(vector instanceof Uint32Array)) {
    throw new PrivkitError('E_ARG', `${argument} must be a Uint32Array, got ${describe(vector)}`, { argument });
  }
  if (vector.length !== length) {
    throw new PrivkitError('E_SHAPE', `${argument} has length ${vector.length}, the round expects ${length}`, { argument });
  }
  const limit = wordMask(bits);
  for (let i = 0; i < vector.length; i++) {
    if (vector[i]! > limit) {
      throw new PrivkitError('E_ARG', `${argument}[${i}] = ${vector[i]} is not below 2^${bits}`, { argument, index: i });
    }
  }
}

/** A message that breaks the protocol (out of order, unexpected content, unsafe request). */
export function protocolError(message: string, argument = 'message'): PrivkitError {
  return new PrivkitError('E_PROTOCOL', message, { argument });
}

/** Too few clients (or a split survivors' graph) to finish the round safely. */
export function thresholdError(message: string): PrivkitError {
  return new PrivkitError('E_THRESHOLD', message);
}
