// The messages of secure aggregation (the five rounds of Bonawitz et al. 2017, Fig. 4, active
// version, with the consistency check) as plain, structured-cloneable objects with Uint8Array /
// Uint32Array fields, one schema per message type; their JSON-safe wire form (byte fields as
// unpadded base64url, vectors as base64url of little-endian 32-bit words) so a browser can talk to
// a Node server over any transport; and the canonical bytes a client signs.
// Every message names its round id; client messages name their sender and carry its Ed25519
// signature, server messages name their recipient.
// Resource limits: a decoded message is bounded before anything is decoded (its text length, then
// every list length against the round, every byte field's size), and no error message echoes more
// than a short prefix of what it got.
import { PrivkitError } from '../errors.js';
import { assertInteger, describe, readOptions } from '../validate.js';
import { isDetached, typedArrayKind } from '../wasm/boundary.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import { checkSigningPrivateKey, sha256, sign, type KeyAgreementCurve } from './crypto.js';
import { MAX_CLIENTS, MAX_FIELD_BYTES, MAX_ID_LENGTH, MAX_MESSAGE_CHARS, MAX_NEIGHBOURHOOD, MAX_VECTOR_LENGTH } from './limits.js';
import { wordMask } from './masks.js';

/** Setup (server -> every client): the round's parameters, before AdvertiseKeys. */
export interface SetupMessage {
  /** The message type. */
  type: 'setup';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** Registered client ids; a client's index here orders the pairwise masks and gives its share point x = index + 1. */
  clients: string[];
  /** The inputs, masks and sum live in Z_2^bits (1 to 32). */
  bits: number;
  /** Length of every input vector (1 to 2^30). */
  length: number;
  /** Shamir threshold t: shares needed to rebuild a secret; a strict majority of a neighbourhood. */
  threshold: number;
  /** SecAgg+ degree k (absent: complete graph). */
  neighbours?: number;
  /** Public randomness that places the clients on the SecAgg+ ring. */
  graphSeed: Uint8Array;
  /** The key-agreement curve of the round. */
  curve: KeyAgreementCurve;
}

/** Round 0, AdvertiseKeys (client -> server): the client's two key-agreement public keys and its signing key. */
export interface AdvertiseKeysMessage {
  /** The message type. */
  type: 'advertise-keys';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client that sent and signed the message. */
  sender: string;
  /** Public key of the pair that encrypts shares. */
  cPublicKey: Uint8Array;
  /** Public key of the pair that agrees pairwise mask seeds. */
  sPublicKey: Uint8Array;
  /** Ed25519 public key that signs this and every later message of the sender. */
  signingPublicKey: Uint8Array;
  /** The sender's Ed25519 signature of {@link signedBytes}(message). */
  signature: Uint8Array;
}

/** A client's advertised keys as relayed to its neighbours, with its signature on its AdvertiseKeys message. */
export interface PublicKeys {
  /** The client whose keys these are. */
  id: string;
  /** As in {@link AdvertiseKeysMessage.cPublicKey}. */
  cPublicKey: Uint8Array;
  /** As in {@link AdvertiseKeysMessage.sPublicKey}. */
  sPublicKey: Uint8Array;
  /** As in {@link AdvertiseKeysMessage.signingPublicKey}. */
  signingPublicKey: Uint8Array;
  /** The client's signature of its AdvertiseKeys message: the recipient verifies the relayed keys with it. */
  signature: Uint8Array;
}

/** Server -> client after AdvertiseKeys: the keys of the recipient's neighbours (and its own) that arrived (U1). */
export interface PublicKeysMessage {
  /** The message type. */
  type: 'public-keys';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client the message is addressed to. */
  recipient: string;
  /** The advertised keys of the recipient's neighbours that arrived, the recipient's own included. */
  keys: PublicKeys[];
}

/** One dealer's two encrypted shares for one holder. */
export interface EncryptedShare {
  /** The other end: the recipient in a ShareKeys message, the sender in an EncryptedShares message. */
  peer: string;
  /** The dealer's s-key share for this holder, AES-GCM under its single-use share key (crypto.ts, deriveShareKeys). */
  keyShare: Uint8Array;
  /** The dealer's self-mask share for this holder, under the other share key. */
  selfMaskShare: Uint8Array;
}

/**
 * Round 1, ShareKeys (client -> server): the shares of s_u^SK and b_u, each encrypted under its own
 * key for a neighbour whose keys it accepted (the sender's signature on the message binds the
 * ciphertexts to it, the dealer); the neighbours whose keys it rejected; the commitment to b_u the
 * server checks the rebuilt b_u against.
 */
export interface ShareKeysMessage {
  /** The message type. */
  type: 'share-keys';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client that sent and signed the message. */
  sender: string;
  /** One entry per neighbour whose keys the sender accepted; `peer` is the holder. */
  shares: EncryptedShare[];
  /** Neighbours whose advertised keys failed (bad signature, invalid point, unexpected signing key, repeated key). */
  rejected: string[];
  /** C_u = SHA-256 commitment to the self-mask seed b_u (32 bytes; encoding in crypto.ts, commitSelfMaskSeed). */
  selfMaskCommitment: Uint8Array;
  /** The sender's Ed25519 signature of {@link signedBytes}(message). */
  signature: Uint8Array;
}

/** Server -> client after ShareKeys: the ciphertexts addressed to the recipient; their senders are U2. */
export interface EncryptedSharesMessage {
  /** The message type. */
  type: 'encrypted-shares';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client the message is addressed to. */
  recipient: string;
  /** The shares dealt to the recipient; `peer` is the dealer. */
  shares: EncryptedShare[];
}

/**
 * Round 2, MaskedInputCollection (client -> server): y_u in Z_2^bits, and the signed statement of
 * whom u masked with (the neighbours whose shares it holds) and whose shares it rejected.
 */
export interface MaskedInputMessage {
  /** The message type. */
  type: 'masked-input';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client that sent and signed the message. */
  sender: string;
  /** y_u: the input plus its self mask and pairwise masks, in Z_2^bits (the round's length). */
  maskedInput: Uint32Array;
  /** Neighbours u added a pairwise mask with, in registration order. */
  maskedWith: string[];
  /** Neighbours whose encrypted shares failed (decryption or size), in registration order. */
  rejected: string[];
  /** The sender's Ed25519 signature of {@link signedBytes}(message). */
  signature: Uint8Array;
}

/**
 * A masked-input message without its vector: what its sender signed, with the vector replaced by
 * its SHA-256 digest (the signature covers the digest, see signedBytes), so neighbours can check it.
 */
export interface MaskingStatement {
  /** The client whose masked-input message this is. */
  sender: string;
  /** SHA-256 of its masked input (the vector as little-endian 32-bit words). */
  inputDigest: Uint8Array;
  /** As in {@link MaskedInputMessage.maskedWith}. */
  maskedWith: string[];
  /** As in {@link MaskedInputMessage.rejected}. */
  rejected: string[];
  /** The sender's signature of its MaskedInput message (which covers the digest, not the vector). */
  signature: Uint8Array;
}

/** A client's Ed25519 signing key, as the server relays it. */
export interface SigningKey {
  /** The client. */
  id: string;
  /** Its raw 32-byte Ed25519 public key. */
  signingPublicKey: Uint8Array;
}

/**
 * Round 3, ConsistencyCheck (server -> client): the survivor set S (the clients whose masked inputs
 * will be summed, registration order), the masking statements of the recipient's neighbours in S,
 * and the signing keys of the members of S within three hops (their signatures come next).
 */
export interface ConsistencyCheckMessage {
  /** The message type. */
  type: 'consistency-check';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client the message is addressed to. */
  recipient: string;
  /** S: the clients whose masked inputs will be summed, in registration order. */
  survivors: string[];
  /** The masking statements of the recipient's neighbours in S. */
  statements: MaskingStatement[];
  /** The signing keys of the members of S within three hops of the recipient. */
  signingKeys: SigningKey[];
}

/** Round 3 answer (client -> server): the sender's signature on S, through its digest (survivorsDigest). */
export interface ConsistencySignatureMessage {
  /** The message type. */
  type: 'consistency-signature';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client that sent and signed the message. */
  sender: string;
  /** SHA-256 of the survivor set, see survivorsDigest. */
  survivorsDigest: Uint8Array;
  /** The sender's Ed25519 signature of {@link signedBytes}(message). */
  signature: Uint8Array;
}

/** One survivor's signature on the survivor set, as the server relays it. */
export interface SurvivorSignature {
  /** The member of S who signed. */
  signer: string;
  /** The signer's signature of its ConsistencySignature message. */
  signature: Uint8Array;
}

/** Server -> client after ConsistencyCheck: signatures on S from members of S (within three hops). */
export interface UnmaskRequestMessage {
  /** The message type. */
  type: 'unmask-request';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client the message is addressed to. */
  recipient: string;
  /** Signatures on S from members of S within three hops of the recipient. */
  signatures: SurvivorSignature[];
}

/** A share a client reveals in the unmasking round, with the key that opens the ciphertext it came in. */
export interface RevealedShare {
  /** The dealer the share belongs to (whose secret it is a share of). */
  owner: string;
  /** The share value f(x), big-endian, SHAMIR_SHARE_BYTES bytes. */
  share: Uint8Array;
  /** The single-use key the owner encrypted this share under (the holder's own share: empty). */
  key: Uint8Array;
}

/** Round 4, Unmasking (client -> server): b-shares of the members of S, s-key shares of the others it holds shares of. */
export interface UnmaskMessage {
  /** The message type. */
  type: 'unmasking';
  /** The round this message belongs to (the setup's roundId). */
  roundId: string;
  /** The client that sent and signed the message. */
  sender: string;
  /** Its shares of the self-mask seeds b_v of the members v of S. */
  selfMaskShares: RevealedShare[];
  /** Its shares of the mask keys s_v^SK of the clients v that dropped out (not in S). */
  keyShares: RevealedShare[];
  /** The sender's Ed25519 signature of {@link signedBytes}(message). */
  signature: Uint8Array;
}

/** A message a client sends to the server. */
export type ClientMessage =
  | AdvertiseKeysMessage
  | ShareKeysMessage
  | MaskedInputMessage
  | ConsistencySignatureMessage
  | UnmaskMessage;
/** A message the server sends to a client. */
export type ServerMessage =
  | SetupMessage
  | PublicKeysMessage
  | EncryptedSharesMessage
  | ConsistencyCheckMessage
  | UnmaskRequestMessage;
/** Any message of the protocol. */
export type SecAggMessage = ClientMessage | ServerMessage;

/** A message in its JSON-safe wire form. */
export type EncodedMessage = {
  /** The message type, as in the decoded message. */
  type: SecAggMessage['type'];
} & Record<string, unknown>;

// ---- Schemas ----

/** A list bounded by the round's client count, or by the size of a neighbourhood. */
export type Bound = 'round' | 'neighbourhood';
/** @internal a field of a message schema. */
export type Field =
  | 'string'
  | 'integer'
  | 'curve'
  | 'bytes'
  | 'words'
  | { strings: Bound }
  | { optional: Field }
  | { list: Schema; bound: Bound };
/** @internal the fields of one message type, in wire (and signing) order. */
export type Schema = Readonly<Record<string, Field>>;

const SHARE: Schema = { peer: 'string', keyShare: 'bytes', selfMaskShare: 'bytes' };
const REVEALED: Schema = { owner: 'string', share: 'bytes', key: 'bytes' };
/** @internal the schema of every message type (shared by the JSON and binary forms). */
export const SCHEMAS: Readonly<Record<SecAggMessage['type'], Schema>> = {
  setup: {
    roundId: 'string',
    clients: { strings: 'round' },
    bits: 'integer',
    length: 'integer',
    threshold: 'integer',
    neighbours: { optional: 'integer' },
    graphSeed: 'bytes',
    curve: 'curve',
  },
  'advertise-keys': { roundId: 'string', sender: 'string', cPublicKey: 'bytes', sPublicKey: 'bytes', signingPublicKey: 'bytes', signature: 'bytes' },
  'public-keys': {
    roundId: 'string',
    recipient: 'string',
    keys: { list: { id: 'string', cPublicKey: 'bytes', sPublicKey: 'bytes', signingPublicKey: 'bytes', signature: 'bytes' }, bound: 'neighbourhood' },
  },
  'share-keys': {
    roundId: 'string',
    sender: 'string',
    shares: { list: SHARE, bound: 'neighbourhood' },
    rejected: { strings: 'neighbourhood' },
    selfMaskCommitment: 'bytes',
    signature: 'bytes',
  },
  'encrypted-shares': { roundId: 'string', recipient: 'string', shares: { list: SHARE, bound: 'neighbourhood' } },
  'masked-input': {
    roundId: 'string',
    sender: 'string',
    maskedInput: 'words',
    maskedWith: { strings: 'neighbourhood' },
    rejected: { strings: 'neighbourhood' },
    signature: 'bytes',
  },
  'consistency-check': {
    roundId: 'string',
    recipient: 'string',
    survivors: { strings: 'round' },
    statements: {
      list: { sender: 'string', inputDigest: 'bytes', maskedWith: { strings: 'neighbourhood' }, rejected: { strings: 'neighbourhood' }, signature: 'bytes' },
      bound: 'neighbourhood',
    },
    signingKeys: { list: { id: 'string', signingPublicKey: 'bytes' }, bound: 'round' },
  },
  'consistency-signature': { roundId: 'string', sender: 'string', survivorsDigest: 'bytes', signature: 'bytes' },
  'unmask-request': { roundId: 'string', recipient: 'string', signatures: { list: { signer: 'string', signature: 'bytes' }, bound: 'round' } },
  unmasking: {
    roundId: 'string',
    sender: 'string',
    selfMaskShares: { list: REVEALED, bound: 'neighbourhood' },
    keyShares: { list: REVEALED, bound: 'neighbourhood' },
    signature: 'bytes',
  },
};

/** The fields of each schema (nested lists' included) in wire order, computed once a schema. */
const FIELDS = new Map<Schema, readonly (readonly [string, Field])[]>();

/** @internal a schema's fields in wire order (its Object.entries, cached: messages are walked entry by entry, 10^3-10^4 a message). */
export function fieldsOf(schema: Schema): readonly (readonly [string, Field])[] {
  let fields = FIELDS.get(schema);
  if (fields === undefined) FIELDS.set(schema, (fields = Object.entries(schema)));
  return fields;
}

/** Limits a message is checked against: its round's setup (list lengths, the vector length), if known. */
/** @internal list and vector bounds of a round. */
export interface Limits {
  round: number;
  neighbourhood: number;
  /** Exact vector length, when the round is known. */
  length?: number;
}

/** @internal the bounds a message of the round of `setup` is checked against. */
export function limitsOf(setup: SetupMessage | undefined): Limits {
  if (setup === undefined) return { round: MAX_CLIENTS, neighbourhood: MAX_CLIENTS };
  return { round: setup.clients.length, neighbourhood: neighbourhoodSize(setup.clients.length, setup.neighbours), length: setup.length };
}

/** min(n, k + 1): the clients of one neighbourhood, the client included (all n with the complete graph). */
function neighbourhoodSize(clients: number, neighbours: number | undefined): number {
  return Math.min(neighbours ?? Infinity, clients - 1) + 1;
}

/**
 * Checks that `message` is a well-formed message of type `type` (right field types, list lengths
 * within the round's limits when `setup` is given; no protocol checks) and returns it typed.
 * Malformed -> E_PROTOCOL.
 */
export function checkMessage<T extends SecAggMessage['type']>(
  message: unknown,
  type: T,
  setup?: SetupMessage,
  argument = 'message',
): Extract<SecAggMessage, { type: T }> {
  if (!isObject(message) || message.type !== type) {
    const got = isObject(message) ? quote(message.type) : typeof message;
    throw new PrivkitError('E_PROTOCOL', `expected a '${type}' message, got ${got}`, { argument });
  }
  const check = (value: unknown, field: Field, path: Path): unknown => {
    if (!matches(value, field)) throw malformed(path(), field);
    if (field === 'bytes' && (value as Uint8Array).length > MAX_FIELD_BYTES) throw malformed(path(), field);
    if (field === 'string' && (value as string).length > MAX_ID_LENGTH) throw malformed(path(), field);
    return value;
  };
  walk(message, SCHEMAS[type], () => argument, limitsOf(setup), check, false);
  return message as unknown as Extract<SecAggMessage, { type: T }>;
}

/**
 * The JSON-safe form of a message (JSON.stringify it, or send it over structured clone).
 *
 * @throws {PrivkitError} E_PROTOCOL when message is not a well-formed message of a known type.
 */
export function encodeMessage(message: SecAggMessage): EncodedMessage {
  const type = typeOf(message);
  checkMessage(message, type);
  return {
    type,
    ...walk(message as unknown as Record<string, unknown>, SCHEMAS[type], () => 'message', limitsOf(undefined), (value, field) =>
      field === 'bytes' ? toBase64Url(value as Uint8Array) : field === 'words' ? toBase64Url(wordsToBytes(value as Uint32Array)) : value,
    ),
  } as EncodedMessage;
}

/** Options of {@link decodeMessage}: the bounds to check a message against. */
export interface DecodeOptions {
  /**
   * The round's setup message: bounds the text length, every list by the round's client count or
   * neighbourhood size, and the vector to exactly the round's length, all before decoding.
   */
  setup?: SetupMessage;
  /** Longest JSON text accepted (default: derived from `setup`, else MAX_MESSAGE_CHARS). */
  maxChars?: number;
}

/**
 * Parses the wire form (an object or its JSON text) back into a message; malformed or too large
 * -> E_PROTOCOL. Sizes are checked before anything is decoded: the text length, then each list's
 * length and each base64url field's length.
 *
 * @throws {PrivkitError} E_PROTOCOL when the text is longer than allowed, not JSON, not a known message type, malformed (field types, non-canonical base64url) or beyond the round's limits.
 */
export function decodeMessage(encoded: unknown, opts: DecodeOptions = {}): SecAggMessage {
  const options = readOptions(opts, ['setup', 'maxChars']);
  const setup = options.setup;
  const roundChars = setup === undefined ? MAX_MESSAGE_CHARS : roundMessageChars(setup);
  const maxChars = options.maxChars === undefined ? roundChars : assertInteger('opts.maxChars', options.maxChars);
  if (typeof encoded === 'string' && encoded.length > maxChars) {
    throw new PrivkitError('E_PROTOCOL', `message of ${encoded.length} characters exceeds the limit of ${maxChars}`, { argument: 'message' });
  }
  const object = typeof encoded === 'string' ? parseJson(encoded) : encoded;
  const type = typeOf(object);
  const limits = limitsOf(setup);
  const decoded = {
    type,
    ...walk(object as Record<string, unknown>, SCHEMAS[type], () => 'message', limits, (value, field, path) => {
      if (field === 'bytes' || field === 'words') {
        if (typeof value !== 'string') throw malformed(path(), field);
        const maxBytes = field === 'bytes' ? MAX_FIELD_BYTES : 4 * (limits.length ?? MAX_VECTOR_LENGTH);
        if (value.length > Math.ceil((4 * maxBytes) / 3)) throw malformed(path(), field);
        const bytes = fromBase64Url(value, path());
        if (field === 'bytes') return bytes;
        if (bytes.length % 4 !== 0) throw malformed(path(), field);
        return bytesToWords(bytes);
      }
      if (!matches(value, field)) throw malformed(path(), field);
      if (field === 'string' && (value as string).length > MAX_ID_LENGTH) throw malformed(path(), field);
      return value;
    })!,
  };
  return checkMessage(decoded, type, setup);
}

/** JSON text bound for any message of the round of `setup` (ids, vector, lists); the setup is checked once and the bound cached. */
const roundBounds = new WeakMap<SetupMessage, number>();
function roundMessageChars(setup: SetupMessage): number {
  let bound = roundBounds.get(setup);
  if (bound === undefined) {
    checkMessage(setup, 'setup', undefined, 'opts.setup');
    const n = setup.clients.length;
    const h = neighbourhoodSize(n, setup.neighbours);
    const id = setup.clients.reduce((longest, c) => Math.max(longest, JSON.stringify(c).length), 0) + 1;
    // fixed fields; the vector in base64url; per client of the round an id and a key or signature;
    // per neighbour an entry with two id lists of a neighbourhood and its byte fields
    bound = 2 ** 16 + Math.ceil((16 * setup.length) / 3) + n * (id + 256) + h * (2 * h * id + 1024);
    roundBounds.set(setup, bound);
  }
  return bound;
}

// ---- What a client signs ----

const CLIENT_TYPES: readonly ClientMessage['type'][] = ['advertise-keys', 'share-keys', 'masked-input', 'consistency-signature', 'unmasking'];

/** Checks a client message by its schema (E_ARG naming `message`); `unsigned`: its signature is not there yet. */
function checkClientMessage(message: unknown, unsigned: boolean): void {
  const type = isObject(message) ? message.type : undefined;
  if (!CLIENT_TYPES.includes(type as ClientMessage['type'])) {
    throw new PrivkitError('E_ARG', `message must be a client message (${CLIENT_TYPES.join(', ')}), got type ${quote(type)}`, { argument: 'message' });
  }
  checkMessage(unsigned ? { ...(message as object), signature: new Uint8Array(0) } : message, type as ClientMessage['type']);
}

/** A non-empty id of at most MAX_ID_LENGTH characters. */
function checkId(name: string, value: unknown, argument = name): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new PrivkitError('E_ARG', `${name} must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${describe(value)}`, { argument });
  }
}

const SIGNING_DOMAIN = 'privkit/secagg/v2 ';

/**
 * The bytes a client signs for `message` (every field but `signature`): a canonical, injective
 * encoding (signedPayload) in which each vector enters as its SHA-256 digest, so a statement can
 * be checked without the vector. The message is not checked (see {@link encodeMessage}).
 */
export async function signedBytes(message: ClientMessage): Promise<Uint8Array> {
  checkClientMessage(message, false);
  const digests = new Map<string, Uint8Array>();
  for (const [name, field] of fieldsOf(SCHEMAS[message.type])) {
    if (field === 'words') digests.set(name, await sha256(wordsToBytes((message as unknown as Record<string, Uint32Array>)[name]!)));
  }
  return signedPayload(message.type, message as unknown as Record<string, unknown>, digests);
}

/** `message` with its sender's Ed25519 signature of signedBytes(message). */
export async function signMessage<T extends ClientMessage>(message: Omit<T, 'signature'>, privateKey: CryptoKey): Promise<T> {
  checkClientMessage(message, true);
  checkSigningPrivateKey(privateKey, 'privateKey');
  const unsigned = { ...message, signature: new Uint8Array(0) } as unknown as T;
  return { ...unsigned, signature: await sign(privateKey, await signedBytes(unsigned)) };
}

/**
 * The canonical encoding of the fields of a client message of `type` (schema order, `signature`
 * left out): field(x) = 4-byte big-endian length || x for strings (UTF-8), byte fields and vector
 * digests (from `digests`, by field name); integers as 8 bytes big-endian; an optional field as
 * one byte 0 or 1 then the value; a list as its 4-byte count then its items. It starts with
 * field('privkit/secagg/v2 ' + type).
 */
export function signedPayload(type: ClientMessage['type'], fields: Record<string, unknown>, digests: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const out = new ByteWriter();
  out.field(utf8(SIGNING_DOMAIN + type));
  const write = (schema: Schema, object: Record<string, unknown>) => {
    for (const [name, field] of fieldsOf(schema)) {
      if (name === 'signature') continue;
      writeField(out, field, object[name], digests.get(name));
    }
  };
  const writeField = (w: ByteWriter, field: Field, value: unknown, digest: Uint8Array | undefined): void => {
    if (field === 'string' || field === 'curve') w.field(utf8(value as string));
    else if (field === 'integer') w.u64(value as number);
    else if (field === 'bytes') w.field(value as Uint8Array);
    else if (field === 'words') w.field(digest!);
    else if ('strings' in field) {
      const list = value as string[];
      w.u32(list.length);
      for (const s of list) w.field(utf8(s));
    } else if ('optional' in field) {
      w.byte(value === undefined ? 0 : 1);
      if (value !== undefined) writeField(w, field.optional, value, digest);
    } else {
      const list = value as Record<string, unknown>[];
      w.u32(list.length);
      for (const item of list) write(field.list, item);
    }
  };
  write(SCHEMAS[type], fields);
  return out.bytes();
}

/** The digest a ConsistencySignature signs: SHA-256(field('privkit/secagg/v2 survivors') || field(roundId) || u32 count || field(id)...). */
export async function survivorsDigest(roundId: string, survivors: readonly string[]): Promise<Uint8Array> {
  checkId('roundId', roundId);
  if (!Array.isArray(survivors) || survivors.length > MAX_CLIENTS) {
    throw new PrivkitError('E_ARG', `survivors must be an array of at most ${MAX_CLIENTS} ids, got ${describe(survivors)}`, { argument: 'survivors' });
  }
  for (let i = 0; i < survivors.length; i++) checkId(`survivors[${i}]`, survivors[i], 'survivors');
  const out = new ByteWriter();
  out.field(utf8(`${SIGNING_DOMAIN}survivors`));
  out.field(utf8(roundId));
  out.u32(survivors.length);
  for (const id of survivors) out.field(utf8(id));
  return sha256(out.bytes());
}

class ByteWriter {
  #buffer = new Uint8Array(256);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;

  /** Makes room for n more bytes and returns the offset they start at. */
  #reserve(n: number): number {
    if (this.#length + n > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(2 * this.#buffer.length, this.#length + n));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    const at = this.#length;
    this.#length += n;
    return at;
  }

  byte(v: number): void {
    const at = this.#reserve(1);
    this.#view.setUint8(at, v);
  }

  u32(v: number): void {
    const at = this.#reserve(4);
    this.#view.setUint32(at, v, false);
  }

  u64(v: number): void {
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, BigInt(v), false);
  }

  field(bytes: Uint8Array): void {
    this.u32(bytes.length);
    const at = this.#reserve(bytes.length);
    this.#buffer.set(bytes, at);
  }

  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}

const ENCODER = new TextEncoder();

function utf8(text: string): Uint8Array {
  return ENCODER.encode(text);
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The words as little-endian bytes (4 a word). */
export function wordsToBytes(words: Uint32Array): Uint8Array {
  // little-endian hosts: a view of the words' own memory, not a copy (a masked input is hashed whole: 10^5-10^6 words);
  // every caller only reads it
  if (LITTLE_ENDIAN) return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
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

// ---- Schema walking ----

/**
 * A field's path in a message ('message.keys[3].id'), built only for an error message: a consistency
 * check lists every survivor and a checked message is walked whole (10^3-10^4 entries a message).
 */
type Path = () => string;

/**
 * Copies the schema's fields of `object` (and only those), mapping each leaf through `leaf`; lists
 * are walked element by element after their length is checked against `limits`; absent optional
 * fields stay absent. With `build` false nothing is copied: the walk only checks (checkMessage).
 */
function walk(
  object: Record<string, unknown>,
  schema: Schema,
  path: Path,
  limits: Limits,
  leaf: (value: unknown, field: Field, path: Path) => unknown,
  build = true,
): Record<string, unknown> | undefined {
  const out: Record<string, unknown> | undefined = build ? {} : undefined;
  for (const [name, field] of fieldsOf(schema)) {
    const value = object[name];
    const at: Path = () => `${path()}.${name}`;
    let result: unknown;
    if (typeof field === 'object' && 'optional' in field) {
      if (value === undefined) continue;
      result = leaf(value, field.optional, at);
    } else if (typeof field === 'object' && 'list' in field) {
      if (!Array.isArray(value)) throw malformed(at(), 'list');
      checkCount(value, limits[field.bound], at);
      result = eachEntry(value, build, (item, i) => {
        if (!isObject(item)) throw malformed(`${at()}[${i}]`, 'object');
        return walk(item, field.list, () => `${at()}[${i}]`, limits, leaf, build);
      });
    } else if (typeof field === 'object') {
      if (!Array.isArray(value)) throw malformed(at(), field);
      checkCount(value, limits[field.strings], at);
      result = eachEntry(value, build, (s, i) => {
        if (typeof s !== 'string' || s.length > MAX_ID_LENGTH) throw malformed(`${at()}[${i}]`, 'string');
        return s;
      });
    } else {
      result = leaf(value, field, at);
    }
    if (out !== undefined) out[name] = result;
  }
  return out;
}

/** `visit` on every entry of `list`, holes included (map and forEach skip them: a hole is a malformed entry); the results when `build`. */
function eachEntry(list: unknown[], build: boolean, visit: (item: unknown, i: number) => unknown): unknown[] | undefined {
  const out: unknown[] | undefined = build ? [] : undefined;
  for (let i = 0; i < list.length; i++) {
    const result = visit(list[i], i);
    out?.push(result);
  }
  return out;
}

function checkCount(list: unknown[], limit: number, path: Path): void {
  if (list.length > limit) {
    throw new PrivkitError('E_PROTOCOL', `malformed message: ${path()} has ${list.length} entries, at most ${limit} fit the round`, {
      argument: rootOf(path()),
    });
  }
}

/** The argument a field path belongs to: 'message' for 'message.keys[0].id', 'opts.setup' for 'opts.setup.bits'. */
function rootOf(path: string): string {
  return path.startsWith('opts.setup') ? 'opts.setup' : path.split(/[.[]/)[0]!;
}

function matches(value: unknown, field: Field): boolean {
  switch (field) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger(value) && (value as number) >= 0;
    case 'curve':
      return value === 'X25519' || value === 'P-256';
    case 'bytes':
      return isTypedArray(value, 'Uint8Array');
    case 'words':
      return isTypedArray(value, 'Uint32Array');
    default:
      return false;
  }
}

/** @internal the message type of `message`, or E_PROTOCOL. */
export function typeOf(message: unknown): SecAggMessage['type'] {
  const type = isObject(message) ? message.type : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(SCHEMAS, type)) {
    throw new PrivkitError('E_PROTOCOL', `not a secure-aggregation message (type ${quote(type)})`, { argument: 'message' });
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

/** A genuine, attached typed array of this class (no Proxy or look-alike; a transferred buffer is not an empty field). */
function isTypedArray(value: unknown, name: 'Uint8Array' | 'Uint32Array'): value is Uint8Array | Uint32Array {
  return typedArrayKind(value) === name && !isDetached(value as Uint8Array);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(path: string, field: Field | 'list' | 'object'): PrivkitError {
  const expected =
    typeof field === 'string' ? field : 'optional' in field ? field.optional : 'strings' in field ? 'a list of strings' : 'list';
  return new PrivkitError('E_PROTOCOL', `malformed message: ${path} must be ${expected} within the round's limits`, { argument: rootOf(path) });
}

/** A value echoed in an error message: JSON, strings cut to 48 characters. */
export function quote(value: unknown): string {
  if (typeof value !== 'string') return typeof value === 'number' ? String(value) : describe(value);
  return JSON.stringify(value.length > 48 ? `${value.slice(0, 48)}…` : value);
}

// ---- Round parameters ----

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
  if (typeof p.roundId !== 'string' || p.roundId.length === 0 || p.roundId.length > MAX_ID_LENGTH) {
    throw fail('roundId', `roundId must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  if (!Array.isArray(p.clients) || p.clients.length === 0) throw fail('clients', 'clients must be a non-empty array of ids');
  if (p.clients.length > MAX_CLIENTS) throw fail('clients', `at most ${MAX_CLIENTS} clients, got ${p.clients.length}`);
  const seen = new Set<string>();
  // a for loop, not forEach: a hole is a missing id, refused rather than skipped
  for (let i = 0; i < p.clients.length; i++) {
    const id = p.clients[i];
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
      throw fail('clients', `clients[${i}] must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    if (seen.has(id)) {
      throw new PrivkitError('E_PROTOCOL', `duplicate client id ${quote(id)} at clients[${i}]`, { argument: 'clients', index: i });
    }
    seen.add(id);
  }
  if (!Number.isSafeInteger(p.bits) || p.bits < 1 || p.bits > 32) throw fail('bits', `bits must be an integer in [1, 32], got ${describe(p.bits)}`);
  if (!Number.isSafeInteger(p.length) || p.length < 1 || p.length > MAX_VECTOR_LENGTH) {
    throw fail('length', `length must be an integer in [1, 2^30], got ${describe(p.length)}`);
  }
  if (p.neighbours !== undefined) {
    if (!Number.isSafeInteger(p.neighbours) || p.neighbours < 2 || p.neighbours % 2 !== 0) {
      throw fail('neighbours', `neighbours must be an even integer >= 2, got ${describe(p.neighbours)}`);
    }
  }
  const neighbourhood = neighbourhoodSize(p.clients.length, p.neighbours);
  if (neighbourhood > MAX_NEIGHBOURHOOD) {
    throw fail(
      p.neighbours === undefined ? 'clients' : 'neighbours',
      `a neighbourhood has ${neighbourhood} clients, at most ${MAX_NEIGHBOURHOOD} are supported (use neighbours: k for SecAgg+)`,
    );
  }
  // Bonawitz et al. 2017 (Sec. 4) need t > n/2 so that the server can not collect both shares of
  // one client (its b-share from some honest clients, its key share from others) and so that at
  // most one survivor set can carry t signatures; with SecAgg+ the shares and the signatures that
  // release them live in a neighbourhood of min(n, k + 1) clients, so t must be a strict majority of it.
  const lowest = Math.floor(neighbourhood / 2) + 1;
  if (!Number.isSafeInteger(p.threshold) || p.threshold < lowest || p.threshold > neighbourhood) {
    throw fail(
      'threshold',
      `threshold must be an integer in [${lowest}, ${neighbourhood}] (a strict majority of the neighbourhood of ` +
        `${neighbourhood} clients, client included), got ${describe(p.threshold)}`,
    );
  }
  if (!(p.graphSeed instanceof Uint8Array) || p.graphSeed.length !== 32) throw fail('graphSeed', 'graphSeed must be 32 bytes');
  if (p.curve !== 'X25519' && p.curve !== 'P-256') throw fail('curve', `curve must be 'X25519' or 'P-256', got ${quote(p.curve)}`);
}

/** A vector of Z_2^bits: a Uint32Array of the round's length with every value < 2^bits. */
export function checkVector(argument: string, vector: unknown, length: number, bits: number): asserts vector is Uint32Array {
  if (!isTypedArray(vector, 'Uint32Array')) {
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
