// The binary form of the secure-aggregation messages (messages.ts), for transports that carry bytes
// (privkit/server and privkit/client put it inside their frames). It walks the same schemas as the
// JSON form, in schema order:
//   message   u8 type (index in MESSAGE_TYPES), then its fields
//   string    u16 UTF-8 byte length + UTF-8 (at most 3 x MAX_ID_LENGTH bytes)
//   integer   u64 (two u32, low first; a safe integer)
//   curve     u8 (0 X25519, 1 P-256)
//   bytes     u16 length (at most MAX_FIELD_BYTES) + bytes
//   words     u8 bits + u32 count + the count values packed at `bits` bits each, little-endian bit
//             order (ceil(count x bits / 8) bytes, unused high bits of the last byte zero): a masked
//             input in Z_2^bits costs bits/8 bytes per coordinate, not the 4/3 x 4 of base64url words
//   strings   u32 count + strings;  list  u32 count + items;  optional  u8 0 or 1 + the value
// all little-endian. Decoding checks every count against the round's limits (given its setup) and the
// bytes left before allocating, refuses trailing bytes and non-canonical forms (a nonzero padding
// bit, an optional flag other than 0 or 1), and ends with the same schema check as the JSON form:
// malformed -> E_PROTOCOL. Adversary: whoever sends the bytes (a client to the server, the server to a client).
import { PrivkitError } from '../errors.js';
import { readOptions } from '../validate.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { MAX_FIELD_BYTES, MAX_ID_LENGTH, MAX_VECTOR_LENGTH } from './limits.js';
import { SCHEMAS, checkMessage, fieldsOf, limitsOf, typeOf, type Field, type Limits, type Schema, type SecAggMessage, type SetupMessage } from './messages.js';

const MESSAGE_TYPES = Object.keys(SCHEMAS) as SecAggMessage['type'][];
const CURVES = ['X25519', 'P-256'] as const;
const MAX_STRING_BYTES = 3 * MAX_ID_LENGTH; // UTF-8 of at most MAX_ID_LENGTH UTF-16 code units

function malformed(what: string): PrivkitError {
  return new PrivkitError('E_PROTOCOL', `malformed binary message: ${what}`, { argument: 'bytes' });
}

/**
 * The binary form of a message (see the file header). A message with a vector (masked-input) needs
 * the round's `bits`, from its setup.
 *
 * @throws {PrivkitError} E_PROTOCOL when message (or setup) is not a well-formed message of a known type, or message carries a vector and no setup is given.
 */
export function encodeBinaryMessage(message: SecAggMessage, setup?: SetupMessage): Uint8Array {
  typeOf(message);
  return new RoundCodec(setup).encode(message);
}

/** Options of {@link decodeBinaryMessage}. */
export interface BinaryDecodeOptions {
  /** The round's setup: bounds every list by the round and the vector to its length and bits. */
  setup?: SetupMessage;
}

/**
 * Decodes the binary form of a message, checking every count against the round (given its setup)
 * and the bytes left before allocating.
 *
 * @throws {PrivkitError} E_PROTOCOL when the bytes are truncated, carry trailing bytes, are not canonical, exceed the round's limits or do not form a well-formed message.
 * @throws {PrivkitError} E_PROTOCOL when options.setup is not a well-formed setup message.
 * @throws {PrivkitError} E_ARG when bytes is not a Uint8Array or options is not an object.
 */
export function decodeBinaryMessage(bytes: Uint8Array, options?: BinaryDecodeOptions): SecAggMessage {
  checkTypedArray('bytes', bytes, ['Uint8Array']);
  const { setup } = readOptions(options, ['setup'], 'options');
  return new RoundCodec(setup, 'options.setup').decode(bytes);
}

/**
 * @internal The binary form bound to one round: its setup (which lists every client of the round:
 * 10^3-10^4 ids) is checked once and copied, then every message of the round is encoded or decoded
 * against that copy (privkit/server and privkit/client hold one per round).
 */
export class RoundCodec {
  readonly #setup: SetupMessage | undefined;
  readonly #limits: Limits;

  /** @throws {PrivkitError} E_PROTOCOL when setup is not a well-formed setup message (naming `argument`). */
  constructor(setup?: SetupMessage, argument = 'setup') {
    if (setup !== undefined) checkMessage(setup, 'setup', undefined, argument);
    // a copy: what was checked stays as it was checked, whatever becomes of the caller's object
    this.#setup = setup === undefined ? undefined : { ...setup, clients: [...setup.clients], graphSeed: setup.graphSeed.slice() };
    this.#limits = limitsOf(this.#setup);
  }

  /**
   * The binary form of a message of the round.
   *
   * @throws {PrivkitError} E_PROTOCOL when message is not a well-formed message of a known type, or carries a vector and the codec has no setup.
   */
  encode(message: SecAggMessage): Uint8Array {
    const setup = this.#setup;
    const type = typeOf(message);
    checkMessage(message, type, setup);
    const out = new BinaryWriter();
    out.u8(MESSAGE_TYPES.indexOf(type));
    const writeField = (field: Field, value: unknown): void => {
      if (field === 'string') out.string(value as string);
      else if (field === 'integer') out.u64(value as number);
      else if (field === 'curve') out.u8(CURVES.indexOf(value as (typeof CURVES)[number]));
      else if (field === 'bytes') out.bytes(value as Uint8Array);
      else if (field === 'words') {
        if (setup === undefined) throw new PrivkitError('E_PROTOCOL', 'a message with a vector needs the round setup (its bits) to be encoded', { argument: 'setup' });
        out.words(value as Uint32Array, setup.bits);
      } else if ('strings' in field) {
        const list = value as string[];
        out.u32(list.length);
        for (const s of list) out.string(s);
      } else if ('optional' in field) {
        out.u8(value === undefined ? 0 : 1);
        if (value !== undefined) writeField(field.optional, value);
      } else {
        const list = value as Record<string, unknown>[];
        out.u32(list.length);
        for (const item of list) writeObject(field.list, item);
      }
    };
    const writeObject = (schema: Schema, object: Record<string, unknown>): void => {
      for (const [name, field] of fieldsOf(schema)) writeField(field, object[name]);
    };
    writeObject(SCHEMAS[type], message as unknown as Record<string, unknown>);
    return out.finish();
  }

  /**
   * Decodes the binary form of a message of the round (see {@link decodeBinaryMessage}).
   *
   * @throws {PrivkitError} E_PROTOCOL when the bytes are truncated, carry trailing bytes, are not canonical, exceed the round's limits or do not form a well-formed message.
   */
  decode(bytes: Uint8Array): SecAggMessage {
    const setup = this.#setup;
    const limits = this.#limits;
    const r = new BinaryReader(bytes);
    const type = MESSAGE_TYPES[r.u8('type')];
    if (type === undefined) throw malformed('unknown message type');
    const readField = (field: Field, path: string): unknown => {
      if (field === 'string') return r.string(path);
      if (field === 'integer') return r.u64(path);
      if (field === 'curve') {
        const curve = CURVES[r.u8(path)];
        if (curve === undefined) throw malformed(`${path} is not a curve`);
        return curve;
      }
      if (field === 'bytes') return r.bytes(path);
      if (field === 'words') return r.words(path, setup, limits.length ?? MAX_VECTOR_LENGTH);
      if ('strings' in field) return Array.from({ length: r.count(path, limits[field.strings], 3) }, (_, i) => r.string(`${path}[${i}]`));
      if ('optional' in field) {
        const flag = r.u8(path);
        if (flag > 1) throw malformed(`${path} has presence flag ${flag}`);
        return flag === 1 ? readField(field.optional, path) : undefined;
      }
      return Array.from({ length: r.count(path, limits[field.bound], 1) }, (_, i) => readObject(field.list, `${path}[${i}]`));
    };
    const readObject = (schema: Schema, path: string): Record<string, unknown> => {
      const object: Record<string, unknown> = {};
      for (const [name, field] of fieldsOf(schema)) {
        const value = readField(field, `${path}.${name}`);
        if (value !== undefined) object[name] = value;
      }
      return object;
    };
    const message = { type, ...readObject(SCHEMAS[type], 'message') };
    r.end();
    return checkMessage(message, type, setup);
  }
}

const UTF8 = new TextEncoder();
const UTF8_FATAL = new TextDecoder('utf-8', { fatal: true });

class BinaryWriter {
  #bytes = new Uint8Array(256);
  #view = new DataView(this.#bytes.buffer);
  #length = 0;

  #reserve(n: number): number {
    if (this.#length + n > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.#bytes.length, this.#length + n));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    const at = this.#length;
    this.#length += n;
    return at;
  }
  // each reserves first: it may replace the buffer and its view
  u8(v: number): void {
    const at = this.#reserve(1);
    this.#view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.#reserve(2);
    this.#view.setUint16(at, v, true);
  }
  u32(v: number): void {
    const at = this.#reserve(4);
    this.#view.setUint32(at, v, true);
  }
  u64(v: number): void {
    this.u32(v % 2 ** 32);
    this.u32(Math.floor(v / 2 ** 32));
  }
  bytes(b: Uint8Array): void {
    this.u16(b.length);
    const at = this.#reserve(b.length);
    this.#bytes.set(b, at);
  }
  string(s: string): void {
    // UTF-8 straight into the buffer (a consistency check lists every survivor: 10^3-10^4 strings a message):
    // ASCII (every id privkit makes) byte by byte, which costs less than an encodeInto call for a short string
    const at = this.#reserve(2 + 3 * s.length); // UTF-8 takes at most 3 bytes a UTF-16 code unit
    const out = this.#bytes;
    let written = 0;
    while (written < s.length) {
      const unit = s.charCodeAt(written);
      if (unit >= 0x80) break;
      out[at + 2 + written++] = unit;
    }
    if (written < s.length) written = UTF8.encodeInto(s, out.subarray(at + 2)).written;
    this.#view.setUint16(at, written, true);
    this.#length = at + 2 + written;
  }
  words(words: Uint32Array, bits: number): void {
    this.u8(bits);
    this.u32(words.length);
    const at = this.#reserve(Math.ceil((words.length * bits) / 8));
    const out = this.#bytes;
    let p = at;
    // 32-bit integer arithmetic (a masked input is 10^5-10^6 words): `pending` holds the held < 8 bits not yet
    // written; a word shifted past them spills its top `held` bits into `spill` (at most 39 bits in all)
    let pending = 0;
    let held = 0;
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      let low = (pending | (word << held)) >>> 0;
      let spill = held === 0 ? 0 : word >>> (32 - held);
      let total = held + bits;
      while (total >= 8) {
        out[p++] = low & 0xff;
        low = ((low >>> 8) | (spill << 24)) >>> 0;
        spill >>>= 8;
        total -= 8;
      }
      pending = low;
      held = total;
    }
    if (held > 0) out[p] = pending;
  }
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }
}

class BinaryReader {
  #offset = 0;
  readonly #view: DataView;

  constructor(private readonly bytesIn: Uint8Array) {
    this.#view = new DataView(bytesIn.buffer, bytesIn.byteOffset, bytesIn.byteLength);
  }
  #need(n: number, what: string): void {
    if (this.#offset + n > this.bytesIn.length) throw malformed(`truncated at ${what}`);
  }
  u8(what: string): number {
    this.#need(1, what);
    return this.#view.getUint8(this.#offset++);
  }
  u16(what: string): number {
    this.#need(2, what);
    const v = this.#view.getUint16(this.#offset, true);
    this.#offset += 2;
    return v;
  }
  u32(what: string): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.#offset, true);
    this.#offset += 4;
    return v;
  }
  u64(what: string): number {
    const low = this.u32(what);
    const high = this.u32(what);
    if (high >= 2 ** 21) throw malformed(`${what} is not a safe integer`);
    return high * 2 ** 32 + low;
  }
  /** A list count: at most `limit`, and at most what the bytes left can hold at `least` bytes an item. */
  count(what: string, limit: number, least: number): number {
    const n = this.u32(what);
    if (n > limit) throw malformed(`${what} has ${n} entries, at most ${limit} fit the round`);
    this.#need(n * least, what);
    return n;
  }
  /** A byte field, as a view of the input (valid while the input is). */
  #field(what: string, max: number): Uint8Array {
    const n = this.u16(what);
    if (n > max) throw malformed(`${what} has ${n} bytes, at most ${max}`);
    this.#need(n, what);
    const b = this.bytesIn.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return b;
  }
  bytes(what: string): Uint8Array {
    return this.#field(what, MAX_FIELD_BYTES).slice();
  }
  string(what: string): string {
    try {
      return UTF8_FATAL.decode(this.#field(what, MAX_STRING_BYTES));
    } catch (error) {
      if (error instanceof PrivkitError) throw error;
      throw malformed(`${what} is not UTF-8`);
    }
  }
  words(what: string, setup: SetupMessage | undefined, maxLength: number): Uint32Array {
    const bits = this.u8(what);
    if (bits < 1 || bits > 32 || (setup !== undefined && bits !== setup.bits)) throw malformed(`${what} is packed at ${bits} bits`);
    const n = this.u32(what);
    if (n > maxLength) throw malformed(`${what} has ${n} values, at most ${maxLength}`);
    const size = Math.ceil((n * bits) / 8);
    this.#need(size, what); // before the allocation below
    const words = new Uint32Array(n);
    const data = this.bytesIn;
    const end = this.#offset + size;
    const byteAt = (k: number): number => (k < end ? data[k]! : 0);
    // 32-bit integer arithmetic (a masked input is 10^5-10^6 words): a word starts `shift` < 8 bits into byte `p`
    // and spans at most 5 bytes; only bytes of this field are read, and bits of the next word are masked off.
    // The words that start before end - 4 have all five bytes in the field: one little-endian 32-bit read
    // each, without the end check, and with bits <= 25 (shift + bits <= 32) no fifth byte (a loop of its own:
    // the test for the fifth byte doubles the time of a word).
    const mask = bits === 32 ? -1 : (1 << bits) - 1;
    const view = this.#view;
    let p = this.#offset;
    let shift = 0;
    let i = 0;
    if (bits <= 25) {
      for (const inner = end - 4; i < n && p < inner; i++) {
        words[i] = (view.getUint32(p, true) >>> shift) & mask;
        shift += bits;
        p += shift >>> 3;
        shift &= 7;
      }
    } else {
      for (const inner = end - 4; i < n && p < inner; i++) {
        let word = view.getUint32(p, true) >>> shift;
        if (shift + bits > 32) word |= data[p + 4]! << (32 - shift);
        words[i] = word & mask;
        shift += bits;
        p += shift >>> 3;
        shift &= 7;
      }
    }
    for (; i < n; i++) {
      let word = (data[p]! | (byteAt(p + 1) << 8) | (byteAt(p + 2) << 16) | (byteAt(p + 3) << 24)) >>> shift;
      if (shift + bits > 32) word |= data[p + 4]! << (32 - shift);
      words[i] = word & mask;
      shift += bits;
      p += shift >>> 3;
      shift &= 7;
    }
    const padding = (n * bits) % 8;
    if (padding !== 0 && data[end - 1]! >>> padding !== 0) throw malformed(`${what} has nonzero padding bits`);
    this.#offset += size;
    return words;
  }
  end(): void {
    if (this.#offset !== this.bytesIn.length) throw malformed(`${this.bytesIn.length - this.#offset} trailing bytes`);
  }
}
