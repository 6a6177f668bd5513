// The binary wire format of privkit/server and privkit/client: one frame per WebSocket message.
// Shared by both sides and free of Node imports (it runs in browsers and Web Workers too).
//
// A frame is a 12-byte header and a body:
//   byte 0      version (WIRE_VERSION)
//   byte 1      message type (MessageType)
//   bytes 2-3   zero (reserved)
//   bytes 4-7   sequence number, u32 little-endian: strictly increasing per connection and sender
//               (starting at 1), so a replayed or reordered frame is refused
//   bytes 8-11  body length in bytes, u32 little-endian (the frame must be exactly 12 + length bytes)
// Bodies are fixed layouts of little-endian fields: u8, u32, f64, strings (u16 byte length + UTF-8),
// float32 vectors (u32 count + 4 count bytes) and byte fields (u32 length + bytes: keys, signatures,
// and secure-aggregation messages in the binary form of privkit/secagg, src/secagg/binary.ts). Every length is checked against the frame and the
// receiver's limits (WireLimits) before anything is allocated, and a frame that does not decode
// exactly (bad version or type, nonzero reserved bytes, truncated, trailing bytes, oversized, a
// string that is not UTF-8, a non-finite float) is refused with PrivkitError E_PROTOCOL.
// Version 3: a welcome carries the connection's enrolment challenge, which an enrolment signs
// (enrolmentBytes); a peer of version 2 is refused at its first frame.
//
// Adversary: any peer on the connection (an unauthenticated client, a malicious enrolled client, or a
// malicious server as seen by the client) sending arbitrary bytes. The decoder bounds the memory and
// work one frame costs by its limits and never returns a partially decoded message; authentication,
// phases and replay across connections are the server's (see src/server/server.ts).
import { PrivkitError } from '../errors.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { readOptions } from '../validate.js';

/** The wire-format version this code speaks; a frame of another version is refused. */
export const WIRE_VERSION = 3;
/** Bytes of the enrolment challenge a welcome carries (fresh per connection; the client's enrolment signs it). */
export const ENROLMENT_CHALLENGE_BYTES = 32;
/** Bytes of a frame header. */
export const HEADER_BYTES = 12;

/** The message types: client to server (1-15), server to client (16-31). */
export const MessageType = Object.freeze({
  /** client -> server: authenticate for a task with its bearer token. */
  Hello: 1,
  /** client -> server: ready to be sampled for the next round. */
  CheckIn: 2,
  /** client -> server: the client's model update for the round it was given. */
  Update: 3,
  /** client -> server: enrols the client's Ed25519 public key (with a signature proving it holds the private key). */
  Enrol: 4,
  /** client -> server: one secure-aggregation message of the round (binary form of privkit/secagg). */
  SecAgg: 5,
  /** server -> client: authenticated; the task's model and local-training settings. */
  Welcome: 16,
  /** server -> client: checked in for the next round. */
  CheckedIn: 17,
  /** server -> client: sampled for a round: the global model to train, and the deadline. */
  Task: 18,
  /** server -> client: a round's outcome (released, withheld or aborted) and the running epsilon. */
  RoundResult: 19,
  /** server -> client: a refused message (its code, a message, and the refused frame's sequence number). */
  Error: 20,
  /** server -> client: the client's signing key is enrolled (bound to its identity for good). */
  Enrolled: 21,
  /** server -> client: sampled for a secure-aggregation round: the model, the quantization plan and the round's setup. */
  SecAggTask: 22,
  /** server -> client: one secure-aggregation message of the round, relayed by the server. */
  SecAggRelay: 23,
} as const);
/** A message type number (see MessageType). */
export type MessageTypeNumber = (typeof MessageType)[keyof typeof MessageType];

/** The model architectures a task can train (the built-in privkit/fl models, as createModel's spec). */
export type WireModelSpec =
  | {
      /** Softmax regression. */
      type: 'softmax-regression';
      /** Features per sample. */
      inputs: number;
      /** Classes. */
      classes: number;
    }
  | {
      /** One hidden ReLU layer. */
      type: 'mlp';
      /** Features per sample. */
      inputs: number;
      /** Hidden units. */
      hidden: number;
      /** Classes. */
      classes: number;
    };

/** How a task aggregates updates: central DP at the server, or secure aggregation with distributed DP. */
export type WireAggregator = 'central-dp' | 'secagg';

/** How a round ended, as reported to clients. */
export type RoundStatus = 'released' | 'withheld' | 'aborted';

/** A decoded message; its `type` names the body. */
export type Message =
  | {
      /** client -> server: authenticate. */
      type: 'hello';
      /** The task the client joins. */
      taskId: string;
      /** Its bearer token. */
      token: string;
    }
  | {
      /** client -> server: ready to be sampled. */
      type: 'check-in';
    }
  | {
      /** client -> server: a model update. */
      type: 'update';
      /** The round it was trained for. */
      round: number;
      /** trained - global parameters. */
      delta: Float32Array;
    }
  | {
      /** client -> server: enrol a signing key. */
      type: 'enrol';
      /** The raw 32-byte Ed25519 public key. */
      signingPublicKey: Uint8Array;
      /** Its signature of enrolmentBytes(taskId, clientId, signingPublicKey, challenge) with this connection's welcome challenge: the client holds the private key, now. */
      signature: Uint8Array;
    }
  | {
      /** client -> server: a secure-aggregation message. */
      type: 'secagg';
      /** The round it belongs to. */
      round: number;
      /** The message in privkit/secagg's binary form (decoded: a view of the frame, see decodeFrame). */
      payload: Uint8Array;
    }
  | {
      /** server -> client: authenticated. */
      type: 'welcome';
      /** The client's id in the ledger. */
      clientId: string;
      /** The model to train. */
      model: WireModelSpec;
      /** Local epochs. */
      epochs: number;
      /** Local mini-batch size. */
      batchSize: number;
      /** Local SGD step size. */
      learningRate: number;
      /** The L2 bound the server clips each update to. */
      clipNorm: number;
      /** How the task aggregates: 'secagg' clients enrol a signing key and take part in secure aggregation. */
      aggregator: WireAggregator;
      /**
       * ENROLMENT_CHALLENGE_BYTES random bytes, fresh for this connection: an enrolment on it signs them,
       * so an enrolment read off one connection does not verify on another.
       */
      challenge: Uint8Array;
    }
  | {
      /** server -> client: the signing key is enrolled. */
      type: 'enrolled';
    }
  | {
      /** server -> client: sampled for a secure-aggregation round. */
      type: 'secagg-task';
      /** The round. */
      round: number;
      /** The version of `params`. */
      modelVersion: number;
      /** Milliseconds the client has to train and advertise its keys. */
      deadlineMs: number;
      /** Milliseconds the client has for each later phase. */
      phaseMs: number;
      /** The global model's parameters. */
      params: Float32Array;
      /** The round's public seed of the randomized Hadamard rotation (32 bytes). */
      rotationSeed: Uint8Array;
      /** Quantized value = round(scale x rotated value). */
      scale: number;
      /** Each client's discrete Gaussian standard deviation, in quantized units. */
      localSigma: number;
      /** Conditional rounding's bound on a client's quantized L2 norm. */
      conditionalBound: number;
      /** The round's SetupMessage in privkit/secagg's binary form (decoded: a view of the frame, see decodeFrame). */
      setup: Uint8Array;
    }
  | {
      /** server -> client: a secure-aggregation message relayed by the server. */
      type: 'secagg-relay';
      /** The round it belongs to. */
      round: number;
      /** The message in privkit/secagg's binary form (decoded: a view of the frame, see decodeFrame). */
      payload: Uint8Array;
    }
  | {
      /** server -> client: checked in. */
      type: 'checked-in';
      /** The number the next round will take. */
      round: number;
    }
  | {
      /** server -> client: sampled for a round. */
      type: 'task';
      /** The round. */
      round: number;
      /** The version of `params`. */
      modelVersion: number;
      /** Milliseconds the client has to upload its update. */
      deadlineMs: number;
      /** The global model's parameters. */
      params: Float32Array;
    }
  | {
      /** server -> client: a round's outcome. */
      type: 'round-result';
      /** The round. */
      round: number;
      /** How it ended. */
      status: RoundStatus;
      /** Updates aggregated (released) or received (withheld). */
      included: number;
      /** The latest model version after the round. */
      modelVersion: number;
      /** The task's epsilon after the round (+Infinity when no delta covers it). */
      epsilon: number;
    }
  | {
      /** server -> client: a refused message. */
      type: 'error';
      /** The PrivkitError code (E_PROTOCOL, E_AUTH). */
      code: string;
      /** What was wrong. */
      message: string;
      /** The refused frame's sequence number (0 when it could not be read). */
      refSeq: number;
    };

/** A decoded frame: its sequence number and message. */
export interface Frame {
  /** The sender's sequence number (>= 1). */
  seq: number;
  /** The message. */
  message: Message;
}

/** What a receiver accepts; larger frames are refused before any allocation. */
export interface WireLimits {
  /** Most float32 values in one vector (model parameters or an update). Default 2^22. */
  maxVector?: number;
  /** Most bytes of one string (token, ids, error message). Default 1024. */
  maxString?: number;
  /** Most bytes of one byte field (a key, a signature, a secure-aggregation message). Default 4 maxVector + 2^20. */
  maxBytes?: number;
}

const DEFAULT_MAX_VECTOR = 2 ** 22;
const DEFAULT_MAX_STRING = 1024;
const MAX_SEQ = 2 ** 32 - 1;

const NAMES = {
  [MessageType.Hello]: 'hello',
  [MessageType.CheckIn]: 'check-in',
  [MessageType.Update]: 'update',
  [MessageType.Enrol]: 'enrol',
  [MessageType.SecAgg]: 'secagg',
  [MessageType.Welcome]: 'welcome',
  [MessageType.CheckedIn]: 'checked-in',
  [MessageType.Task]: 'task',
  [MessageType.RoundResult]: 'round-result',
  [MessageType.Error]: 'error',
  [MessageType.Enrolled]: 'enrolled',
  [MessageType.SecAggTask]: 'secagg-task',
  [MessageType.SecAggRelay]: 'secagg-relay',
} as const;
const TYPES = new Map<string, number>(Object.entries(NAMES).map(([n, name]) => [name, Number(n)]));
const STATUSES: readonly RoundStatus[] = ['released', 'withheld', 'aborted'];
const MODEL_TYPES = ['softmax-regression', 'mlp'] as const;
const AGGREGATORS: readonly WireAggregator[] = ['central-dp', 'secagg'];

function protocolError(message: string): PrivkitError {
  return new PrivkitError('E_PROTOCOL', `wire frame refused: ${message}`, { argument: 'bytes' });
}

/** The largest frame (header included) a receiver with `limits` accepts: a bound for transport buffers. */
export function maxFrameBytes(limits?: WireLimits | null): number {
  const { maxVector, maxString, maxBytes } = resolveLimits(limits);
  // the largest body: a secagg task (4 u32 + vector + 3 f64 + two byte fields), a welcome (string + model + settings
  // + challenge: 38 bytes and a byte field) or an error (two strings + u32), whichever is larger
  return HEADER_BYTES + Math.max(48 + 4 * maxVector + 2 * (4 + maxBytes), 2 + maxString + 38 + 4 + ENROLMENT_CHALLENGE_BYTES, 4 + 2 * (2 + maxString));
}

function resolveLimits(given: WireLimits | null | undefined): Required<WireLimits> {
  const limits = readOptions(given, ['maxVector', 'maxString', 'maxBytes'], 'limits', true);
  const check = (name: keyof WireLimits, value: number | undefined, fallback: number, max: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new PrivkitError('E_ARG', `limits.${name} must be an integer in [1, ${max}], got ${String(value)}`, { argument: `limits.${name}` });
    }
    return value;
  };
  const maxVector = check('maxVector', limits.maxVector, DEFAULT_MAX_VECTOR, 2 ** 27);
  return {
    maxVector,
    maxString: check('maxString', limits.maxString, DEFAULT_MAX_STRING, 65535),
    maxBytes: check('maxBytes', limits.maxBytes, 4 * maxVector + 2 ** 20, 2 ** 30),
  };
}

// ---------------------------------------------------------------------------------------------- encode

class Writer {
  private bytes = new Uint8Array(64);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
  zeros(n: number): void {
    this.reserve(n);
    this.length += n; // a fresh buffer: zero-filled
  }
  u8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
  }
  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }
  f64(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }
  string(value: string): void {
    const encoded = new TextEncoder().encode(value);
    if (encoded.length > 65535) throw new PrivkitError('E_ARG', `a wire string must be at most 65535 UTF-8 bytes, got ${encoded.length}`, { argument: 'message' });
    this.reserve(2 + encoded.length);
    this.view.setUint16(this.length, encoded.length, true);
    this.bytes.set(encoded, this.length + 2);
    this.length += 2 + encoded.length;
  }
  blob(value: Uint8Array): void {
    this.u32(value.length);
    this.reserve(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }
  vector(values: Float32Array): void {
    this.u32(values.length);
    this.reserve(4 * values.length);
    // little-endian hosts (all that run privkit): the floats' own memory is the wire form, copied whole (a model is 10^5-10^6 values)
    if (LITTLE_ENDIAN) this.bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), this.length);
    else for (let i = 0; i < values.length; i++) this.view.setFloat32(this.length + 4 * i, values[i]!, true);
    this.length += 4 * values.length;
  }
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function u32Field(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEQ) {
    throw new PrivkitError('E_ARG', `message.${name} must be an integer in [0, 2^32), got ${String(value)}`, { argument: `message.${name}` });
  }
  return value;
}

function bytesField(name: string, value: unknown): Uint8Array {
  return checkTypedArray(`message.${name}`, value as Uint8Array, ['Uint8Array']);
}

/**
 * Encodes one message as a frame with sequence number `seq` (>= 1).
 *
 * @throws {PrivkitError} E_ARG when seq or a field is out of range, or the message type is unknown.
 */
export function encodeFrame(seq: number, message: Message): Uint8Array {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new PrivkitError('E_ARG', `seq must be an integer in [1, 2^32), got ${String(seq)}`, { argument: 'seq' });
  const type = TYPES.get((message as { type?: unknown } | null)?.type as string);
  if (type === undefined) throw new PrivkitError('E_ARG', 'message.type is not a wire message type', { argument: 'message.type' });
  const body = new Writer();
  body.zeros(HEADER_BYTES); // the header, written last
  switch (message.type) {
    case 'hello':
      body.string(message.taskId);
      body.string(message.token);
      break;
    case 'check-in':
    case 'enrolled':
      break;
    case 'update':
      body.u32(u32Field('round', message.round));
      body.vector(message.delta);
      break;
    case 'enrol':
      body.blob(bytesField('signingPublicKey', message.signingPublicKey));
      body.blob(bytesField('signature', message.signature));
      break;
    case 'secagg':
    case 'secagg-relay':
      body.u32(u32Field('round', message.round));
      body.blob(bytesField('payload', message.payload));
      break;
    case 'secagg-task':
      body.u32(u32Field('round', message.round));
      body.u32(u32Field('modelVersion', message.modelVersion));
      body.u32(u32Field('deadlineMs', message.deadlineMs));
      body.u32(u32Field('phaseMs', message.phaseMs));
      body.vector(message.params);
      body.blob(bytesField('rotationSeed', message.rotationSeed));
      body.f64(message.scale);
      body.f64(message.localSigma);
      body.f64(message.conditionalBound);
      body.blob(bytesField('setup', message.setup));
      break;
    case 'welcome': {
      body.string(message.clientId);
      const model = message.model;
      body.u8(MODEL_TYPES.indexOf(model.type));
      body.u32(u32Field('model.inputs', model.inputs));
      body.u32(model.type === 'mlp' ? u32Field('model.hidden', model.hidden) : 0);
      body.u32(u32Field('model.classes', model.classes));
      body.u32(u32Field('epochs', message.epochs));
      body.u32(u32Field('batchSize', message.batchSize));
      body.f64(message.learningRate);
      body.f64(message.clipNorm);
      const aggregator = AGGREGATORS.indexOf(message.aggregator);
      if (aggregator < 0) throw new PrivkitError('E_ARG', `message.aggregator must be one of ${AGGREGATORS.join(', ')}`, { argument: 'message.aggregator' });
      body.u8(aggregator);
      const challenge = bytesField('challenge', message.challenge);
      if (challenge.length !== ENROLMENT_CHALLENGE_BYTES) {
        throw new PrivkitError('E_ARG', `message.challenge must be ${ENROLMENT_CHALLENGE_BYTES} bytes, got ${challenge.length}`, { argument: 'message.challenge' });
      }
      body.blob(challenge);
      break;
    }
    case 'checked-in':
      body.u32(u32Field('round', message.round));
      break;
    case 'task':
      body.u32(u32Field('round', message.round));
      body.u32(u32Field('modelVersion', message.modelVersion));
      body.u32(u32Field('deadlineMs', message.deadlineMs));
      body.vector(message.params);
      break;
    case 'round-result':
      body.u32(u32Field('round', message.round));
      body.u8(STATUSES.indexOf(message.status));
      body.u32(u32Field('included', message.included));
      body.u32(u32Field('modelVersion', message.modelVersion));
      body.f64(message.epsilon);
      break;
    case 'error':
      body.string(message.code);
      body.string(message.message);
      body.u32(u32Field('refSeq', message.refSeq));
      break;
  }
  // the body was written after HEADER_BYTES of zeros (the reserved bytes stay zero)
  const frame = body.finish();
  const view = new DataView(frame.buffer);
  view.setUint8(0, WIRE_VERSION);
  view.setUint8(1, type);
  view.setUint32(4, seq, true);
  view.setUint32(8, frame.length - HEADER_BYTES, true);
  return frame;
}

/**
 * @internal A copy of an encoded frame, or of its header alone, with sequence number `seq` (>= 1)
 * instead of its own: a message sent to many connections is encoded once (privkit/server's
 * broadcasts), each copy numbered for its connection. A copy, because a transport may hold a sent
 * buffer until its socket drains.
 */
export function withSeq(frame: Uint8Array, seq: number): Uint8Array {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new PrivkitError('E_ARG', `seq must be an integer in [1, 2^32), got ${String(seq)}`, { argument: 'seq' });
  const copy = frame.slice();
  new DataView(copy.buffer).setUint32(4, seq, true);
  return copy;
}

// ---------------------------------------------------------------------------------------------- decode

class Reader {
  private offset = HEADER_BYTES;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: Required<WireLimits>,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number, what: string): void {
    if (this.offset + n > this.bytes.length) throw protocolError(`truncated ${what} (needs ${n} bytes at offset ${this.offset}, frame has ${this.bytes.length})`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }
  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }
  f64(what: string): number {
    const value = this.f64OrInfinity(what);
    if (value === Number.POSITIVE_INFINITY) throw protocolError(`${what} is not finite`);
    return value;
  }
  /** A finite double or +Infinity (an epsilon no delta covers); NaN and -Infinity are refused. */
  f64OrInfinity(what: string): number {
    this.need(8, what);
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    if (!(Number.isFinite(value) || value === Number.POSITIVE_INFINITY)) throw protocolError(`${what} is not finite`);
    return value;
  }
  string(what: string): string {
    this.need(2, what);
    const length = this.view.getUint16(this.offset, true);
    if (length > this.limits.maxString) throw protocolError(`${what} of ${length} bytes exceeds the limit of ${this.limits.maxString}`);
    this.offset += 2;
    this.need(length, what);
    const raw = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw protocolError(`${what} is not UTF-8`);
    }
  }
  /** A byte field, copied: the caller may keep it (keys, signatures, seeds). */
  blob(what: string): Uint8Array {
    return this.aliased(what).slice();
  }
  /**
   * A byte field as a view of the frame's bytes, not a copy: for a field the receiver decodes once
   * and drops (a secure-aggregation message: a masked input is 10^5-10^6 bytes, and a copy of each
   * is as much garbage). It keeps the frame's buffer alive while it is held, and reads change with it.
   */
  aliased(what: string): Uint8Array {
    const length = this.u32(`${what} length`);
    if (length > this.limits.maxBytes) throw protocolError(`${what} of ${length} bytes exceeds the limit of ${this.limits.maxBytes}`);
    this.need(length, what);
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  vector(what: string): Float32Array {
    const count = this.u32(`${what} length`);
    if (count > this.limits.maxVector) throw protocolError(`${what} of ${count} values exceeds the limit of ${this.limits.maxVector}`);
    this.need(4 * count, what); // checked before the allocation below
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const v = this.view.getFloat32(this.offset + 4 * i, true);
      if (!Number.isFinite(v)) throw protocolError(`${what}[${i}] is not finite`);
      values[i] = v;
    }
    this.offset += 4 * count;
    return values;
  }
  end(): void {
    if (this.offset !== this.bytes.length) throw protocolError(`${this.bytes.length - this.offset} trailing bytes`);
  }
}

/** Reads the header of a frame, checking it alone (before the body is looked at). */
function readHeader(bytes: Uint8Array, limits: Required<WireLimits>): { type: number; seq: number } {
  if (bytes.length < HEADER_BYTES) throw protocolError(`${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== WIRE_VERSION) throw protocolError(`version ${version}, this side speaks ${WIRE_VERSION}`);
  const type = view.getUint8(1);
  if (!(type in NAMES)) throw protocolError(`unknown message type ${type}`);
  if (view.getUint16(2, true) !== 0) throw protocolError('reserved header bytes are not zero');
  const seq = view.getUint32(4, true);
  if (seq === 0) throw protocolError('sequence number 0');
  const length = view.getUint32(8, true);
  if (length > maxFrameBytes(limits) - HEADER_BYTES) throw protocolError(`body of ${length} bytes exceeds the limit`);
  if (length !== bytes.length - HEADER_BYTES) throw protocolError(`header states a ${length}-byte body, frame carries ${bytes.length - HEADER_BYTES}`);
  return { type, seq };
}

/**
 * Decodes one frame, checking every length against the frame and `limits` before allocating.
 * The secure-aggregation fields (`payload` of 'secagg' and 'secagg-relay', `setup` of
 * 'secagg-task') are views of `bytes`, not copies: decode them before `bytes` is changed or reused;
 * every other field is a copy.
 *
 * @throws {PrivkitError} E_PROTOCOL when the frame is malformed, truncated, oversized or has trailing bytes.
 * @throws {PrivkitError} E_ARG when bytes is not a Uint8Array or a limit is out of range.
 */
export function decodeFrame(bytes: Uint8Array, limits?: WireLimits | null): Frame {
  checkTypedArray('bytes', bytes, ['Uint8Array']);
  const resolved = resolveLimits(limits);
  const { type, seq } = readHeader(bytes, resolved);
  const r = new Reader(bytes, resolved);
  let message: Message;
  switch (type) {
    case MessageType.Hello:
      message = { type: 'hello', taskId: r.string('taskId'), token: r.string('token') };
      break;
    case MessageType.CheckIn:
      message = { type: 'check-in' };
      break;
    case MessageType.Update:
      message = { type: 'update', round: r.u32('round'), delta: r.vector('delta') };
      break;
    case MessageType.Enrol:
      message = { type: 'enrol', signingPublicKey: r.blob('signingPublicKey'), signature: r.blob('signature') };
      break;
    case MessageType.SecAgg:
      message = { type: 'secagg', round: r.u32('round'), payload: r.aliased('payload') };
      break;
    case MessageType.Enrolled:
      message = { type: 'enrolled' };
      break;
    case MessageType.SecAggTask:
      message = {
        type: 'secagg-task',
        round: r.u32('round'),
        modelVersion: r.u32('modelVersion'),
        deadlineMs: r.u32('deadlineMs'),
        phaseMs: r.u32('phaseMs'),
        params: r.vector('params'),
        rotationSeed: r.blob('rotationSeed'),
        scale: r.f64('scale'),
        localSigma: r.f64('localSigma'),
        conditionalBound: r.f64('conditionalBound'),
        setup: r.aliased('setup'),
      };
      break;
    case MessageType.SecAggRelay:
      message = { type: 'secagg-relay', round: r.u32('round'), payload: r.aliased('payload') };
      break;
    case MessageType.Welcome: {
      const clientId = r.string('clientId');
      const kind = MODEL_TYPES[r.u8('model type')];
      if (kind === undefined) throw protocolError('unknown model type');
      const inputs = r.u32('model.inputs');
      const hidden = r.u32('model.hidden');
      const classes = r.u32('model.classes');
      if (kind !== 'mlp' && hidden !== 0) throw protocolError('model.hidden must be 0 for a softmax-regression model');
      const model: WireModelSpec = kind === 'mlp' ? { type: kind, inputs, hidden, classes } : { type: kind, inputs, classes };
      const settings = { epochs: r.u32('epochs'), batchSize: r.u32('batchSize'), learningRate: r.f64('learningRate'), clipNorm: r.f64('clipNorm') };
      const aggregator = AGGREGATORS[r.u8('aggregator')];
      if (aggregator === undefined) throw protocolError('unknown aggregator');
      const challenge = r.blob('challenge');
      if (challenge.length !== ENROLMENT_CHALLENGE_BYTES) throw protocolError(`a welcome challenge of ${challenge.length} bytes, not ${ENROLMENT_CHALLENGE_BYTES}`);
      message = { type: 'welcome', clientId, model, ...settings, aggregator, challenge };
      break;
    }
    case MessageType.CheckedIn:
      message = { type: 'checked-in', round: r.u32('round') };
      break;
    case MessageType.Task:
      message = { type: 'task', round: r.u32('round'), modelVersion: r.u32('modelVersion'), deadlineMs: r.u32('deadlineMs'), params: r.vector('params') };
      break;
    case MessageType.RoundResult: {
      const round = r.u32('round');
      const status = STATUSES[r.u8('status')];
      if (status === undefined) throw protocolError('unknown round status');
      message = { type: 'round-result', round, status, included: r.u32('included'), modelVersion: r.u32('modelVersion'), epsilon: r.f64OrInfinity('epsilon') };
      break;
    }
    default:
      message = { type: 'error', code: r.string('code'), message: r.string('message'), refSeq: r.u32('refSeq') };
  }
  r.end();
  return { seq, message };
}

const ENROLMENT_DOMAIN = 'privkit/server enrol v2';

/**
 * The bytes a client signs to enrol its Ed25519 key: the domain 'privkit/server enrol v2', the task
 * id and the client id (each as a u16 length + UTF-8), the 32-byte public key and the challenge of the
 * connection's welcome (each as a u32 length + bytes). The signature proves the enrolling client holds
 * the private key, names the task and identity it binds it to, and is good on that connection only
 * (the server draws a fresh challenge for each): an enrolment replayed on another connection fails.
 *
 * @throws {PrivkitError} E_ARG when an id is not a string of at most 65535 UTF-8 bytes, the key is not a Uint8Array, or the challenge is not a Uint8Array of ENROLMENT_CHALLENGE_BYTES bytes.
 */
export function enrolmentBytes(taskId: string, clientId: string, signingPublicKey: Uint8Array, challenge: Uint8Array): Uint8Array {
  const out = new Writer();
  for (const [name, value] of [
    ['domain', ENROLMENT_DOMAIN],
    ['taskId', taskId],
    ['clientId', clientId],
  ] as const) {
    if (typeof value !== 'string') throw new PrivkitError('E_ARG', `${name} must be a string`, { argument: name });
    out.string(value);
  }
  out.blob(checkTypedArray('signingPublicKey', signingPublicKey, ['Uint8Array']));
  checkTypedArray('challenge', challenge, ['Uint8Array']);
  if (challenge.length !== ENROLMENT_CHALLENGE_BYTES) {
    throw new PrivkitError('E_ARG', `challenge must be ${ENROLMENT_CHALLENGE_BYTES} bytes, got ${challenge.length}`, { argument: 'challenge' });
  }
  out.blob(challenge);
  return out.finish();
}
