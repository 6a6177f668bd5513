// Encrypted tensor containers: sealTensors / openTensors on whole buffers and createSealStream /
// createOpenStream over Web Streams, one sealing and one opening engine under both (Sealer, Opener).
// Layout and algorithms are specified in docs/FORMAT.md and format.ts: a random content key (CEK)
// wrapped per recipient (keys.ts), AES-256-GCM chunks of a plaintext that starts with the encrypted
// tensor manifest, an optional Ed25519 signature (sign.ts). Memory is bounded by a few chunks:
// at most WINDOW chunks are in progress at once, and the engines hold one partial chunk.
import { PrivkitError } from '../errors.js';
import { toBase64Url } from '../secagg/base64url.js';
import { assertOneOf, describe, readOptions } from '../validate.js';
import { checkNumber, readArray } from '../validate-arrays.js';
import { checkTypedArray, currentLength, typedArrayKind } from '../wasm/boundary.js';
import { ByteQueue, equalBytes, randomBytes, readBigEndian, sha256, wipe } from './bytes.js';
import {
  AEAD,
  CHUNK_KEY_INFO,
  chunkAad,
  chunkNonce,
  COMMITMENT_INFO,
  DEFAULT_CHUNK_SIZE,
  DTYPE_BYTES,
  encodeHeader,
  encodeManifest,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS,
  MAX_MANIFEST_BYTES,
  MAX_TENSORS,
  MIN_CHUNK_SIZE,
  parseHeader,
  parseManifest,
  PREFIX_BYTES,
  readPrefix,
  SIGNATURE_ALGORITHM,
  SIGNATURE_BYTES,
  specProblem,
  TAG_BYTES,
  tensorBytes,
  type TensorDtype,
  type TensorSpec,
} from './format.js';
import { CEK_BYTES, readOpeningKey, readRecipients, unwrapKey, wipeSecrets, wrapKey, type OpeningKey, type ReadyOpeningKey, type ReadyRecipient, type Recipient } from './keys.js';
import { ChunkChain, importVerifyKey, readSigner, type ModelSigningKeys, type ReadySigner } from './sign.js';

export type { TensorDtype, TensorSpec };

/** The typed arrays a container carries (their bytes are stored little-endian). */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A tensor to seal: its elements and shape (default: one dimension, the data's length). */
export interface Tensor {
  /** The elements, row-major. */
  data: TensorData;
  /** The dimensions; their product must be `data.length` (default `[data.length]`). */
  shape?: readonly number[];
}

/** A tensor of an opened container. */
export interface OpenedTensor {
  /** The element type, as sealed. */
  dtype: TensorDtype;
  /** The dimensions, as sealed. */
  shape: number[];
  /** The elements (a new array of the dtype's class). */
  data: TensorData;
}

/** Options of {@link sealTensors} and {@link createSealStream}. */
export interface SealOptions {
  /** Who can open the container: 1 to 64 public keys and passphrases (at most 4 passphrases: an opener tries no more); any one of them opens it. */
  recipients: readonly Recipient[];
  /** An Ed25519 key pair ({@link generateSigningKeys}) that signs the header and the chunks. */
  signer?: ModelSigningKeys;
  /** Plaintext bytes per chunk: default 1 MiB (1,048,576), 16 B to 64 MiB. */
  chunkSize?: number;
}

/** Options of {@link openTensors} and {@link createOpenStream}. */
export interface OpenOptions {
  /** A recipient key pair the container was sealed to, or `{ passphrase }`. */
  key: OpeningKey;
  /** The signer's raw Ed25519 public key: the container must carry its valid signature (E_AUTH otherwise). Without it a signature is not checked. */
  verifyKey?: Uint8Array;
}

/** Options of {@link createOpenStream}. */
export interface OpenStreamOptions extends OpenOptions {
  /**
   * When pieces leave the stream: 'verified' (default) holds every piece until the whole container
   * (and its signature) has authenticated, so a failing container yields nothing, at the cost of
   * memory for the whole plaintext; 'chunk' releases each chunk's pieces as soon as the chunk's tag
   * verifies (memory bounded by a few chunks) -- a later failure (truncation, a tampered later
   * chunk, a bad signature) then errors the stream after earlier pieces were read, and the caller
   * must discard everything it received (unauthenticated streaming, opt-in).
   */
  release?: 'verified' | 'chunk';
}

/** A piece of one tensor's bytes from {@link createOpenStream}: `bytes` go at `byteOffset` of tensor `index` (`name`). */
export interface TensorPiece {
  /** The tensor's position in the manifest. */
  index: number;
  /** The tensor's name. */
  name: string;
  /** Where `bytes` go in the tensor's little-endian bytes. */
  byteOffset: number;
  /** Decrypted bytes (pieces of one tensor arrive in order). */
  bytes: Uint8Array;
}

/** The stream pair of {@link createOpenStream}: write container bytes, read tensor pieces; `manifest` resolves with the tensors' names, dtypes and shapes. */
export interface OpenStream {
  /** Where the container's bytes are written. */
  writable: WritableStream<Uint8Array>;
  /** The tensors' pieces. */
  readable: ReadableStream<TensorPiece>;
  /** The manifest, once read (with release 'verified': once the container authenticated); rejects when the stream fails first. */
  manifest: Promise<TensorSpec[]>;
}

/**
 * Chunks in progress at once (seal and open): enough to overlap WebCrypto's work with ours. A
 * streaming opener counts the chunk it holds after the one it decrypts (it must see bytes after a
 * chunk to know that the chunk is not the final one), so it has WINDOW - 1 in WebCrypto; openTensors
 * has its whole input in memory already and keeps WINDOW there. (Seal piped into open in Chromium:
 * 5 chunks of live memory with 2 decrypts in flight, 4 with 1; raw WebCrypto there runs as fast with
 * one call in flight as with two: 330 and 335 ms for 256 MiB in 1 MiB chunks.)
 */
const WINDOW = 2;

const DTYPE_OF: Readonly<Record<string, TensorDtype>> = { Float32Array: 'float32', Float64Array: 'float64', Int32Array: 'int32', Uint8Array: 'uint8' };
const CONSTRUCTOR: Readonly<Record<TensorDtype, new (length: number) => TensorData>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
};

// ---- Content keys ----

/** The chunk key and key commitment of a CEK (HKDF-SHA-256, empty salt); wipes nothing (the caller owns the CEK). */
async function contentKeys(cek: Uint8Array<ArrayBuffer>): Promise<{ chunkKey: CryptoKey; commitment: Uint8Array }> {
  const base = await crypto.subtle.importKey('raw', cek, 'HKDF', false, ['deriveKey', 'deriveBits']);
  const salt = new Uint8Array(0);
  const chunkKey = await crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info: CHUNK_KEY_INFO }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const commitment = new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: COMMITMENT_INFO }, base, 256));
  return { chunkKey, commitment };
}

/** An in-order window of pending WebCrypto results; a rejection is kept for when its turn comes. */
class InFlight<T> {
  private pending: Promise<T>[] = [];
  get size(): number {
    return this.pending.length;
  }
  add(promise: Promise<T>): void {
    promise.catch(() => undefined);
    this.pending.push(promise);
  }
  next(): Promise<T> {
    return this.pending.shift()!;
  }
}

// ---- Sealing ----

type Emit = (bytes: Uint8Array) => void;

class Sealer {
  /** One buffer for every chunk assembled from pieces: WebCrypto copies its input when called, so it is free again at once (a fresh buffer per chunk cost more than the encryption in Chromium). */
  private readonly staging: Uint8Array<ArrayBuffer>;
  /** Plaintext bytes of the chunk being filled (the chunk size; less for the last chunk). */
  private chunkLength: number;
  private filled = 0;
  private written = 0;
  private index = 0;
  /** Sealed chunks, with their SHA-256 when signing. */
  private readonly window = new InFlight<{ chunk: Uint8Array; digest: Uint8Array | undefined }>();
  private readonly chain: ChunkChain | undefined;

  private constructor(
    private readonly header: Uint8Array,
    private readonly manifest: Uint8Array,
    private readonly key: CryptoKey,
    private readonly nonceBase: Uint8Array,
    private readonly headerHash: Uint8Array<ArrayBuffer>,
    private readonly chunkSize: number,
    /** Plaintext bytes in all: the manifest and the tensors. */
    readonly total: number,
    private readonly signer: ReadySigner | undefined,
  ) {
    this.chunkLength = Math.min(chunkSize, total);
    this.staging = new Uint8Array(this.chunkLength);
    this.chain = signer === undefined ? undefined : ChunkChain.start(headerHash);
  }

  /** Bytes of the whole container. */
  get containerBytes(): number {
    return this.header.length + this.total + Math.ceil(this.total / this.chunkSize) * TAG_BYTES + (this.signer ? SIGNATURE_BYTES : 0);
  }

  /** Wraps a fresh CEK for every recipient, builds the header and queues the manifest. */
  static async create(specs: TensorSpec[], recipients: ReadyRecipient[], signer: ReadySigner | undefined, chunkSize: number, argument: string): Promise<Sealer> {
    const manifest = encodeManifest(specs);
    const total = manifest.length + specs.reduce((sum, s) => sum + tensorBytes(s), 0);
    if (!Number.isSafeInteger(total) || Math.ceil(total / chunkSize) > MAX_CHUNKS) {
      wipeSecrets(recipients); // as on every other way out of here
      throw new PrivkitError('E_OVERFLOW', `the tensors need more than ${MAX_CHUNKS} chunks of ${chunkSize} bytes`, { argument });
    }
    const cek = randomBytes(CEK_BYTES);
    let keys: { chunkKey: CryptoKey; commitment: Uint8Array };
    const entries = [];
    try {
      for (const r of recipients) entries.push(await wrapKey(r, cek));
      keys = await contentKeys(cek);
    } finally {
      wipe(cek);
      wipeSecrets(recipients);
    }
    const nonceBase = randomBytes(12);
    const header = encodeHeader({
      aead: AEAD,
      chunkSize,
      nonceBase: toBase64Url(nonceBase),
      keyCommitment: toBase64Url(keys.commitment),
      recipients: entries,
      signer: signer === undefined ? null : { alg: SIGNATURE_ALGORITHM, keyId: toBase64Url(signer.keyId) },
    });
    return new Sealer(header, manifest, keys.chunkKey, nonceBase, await sha256(header), chunkSize, total, signer);
  }

  /** Emits the header and takes the manifest (the plaintext's first bytes). */
  async begin(emit: Emit): Promise<void> {
    emit(this.header);
    await this.write(this.manifest, emit);
  }

  /** Takes plaintext bytes (tensor data in manifest order); emits ciphertext chunks as they are sealed. */
  async write(bytes: Uint8Array, emit: Emit): Promise<void> {
    if (this.written + bytes.length > this.total) {
      throw new PrivkitError('E_SHAPE', `more tensor bytes than the manifest declares (${this.total - this.written} left, got ${bytes.length})`, { argument: 'chunk' });
    }
    let offset = 0;
    const direct = bytes.buffer instanceof ArrayBuffer; // WebCrypto refuses views of shared memory
    while (offset < bytes.length) {
      if (direct && this.filled === 0 && bytes.length - offset >= this.chunkLength) {
        // A whole chunk inside the input: encrypt the view.
        const count = this.chunkLength;
        this.written += count;
        await this.sealChunk(bytes.subarray(offset, offset + count) as Uint8Array<ArrayBuffer>, emit);
        offset += count;
        continue;
      }
      const count = Math.min(bytes.length - offset, this.chunkLength - this.filled);
      this.staging.set(bytes.subarray(offset, offset + count), this.filled);
      this.filled += count;
      this.written += count;
      offset += count;
      if (this.filled === this.chunkLength) await this.sealChunk(this.staging.subarray(0, this.chunkLength), emit);
    }
  }

  /** Emits what is left and the signature; fewer bytes than declared -> E_SHAPE. */
  async finish(emit: Emit): Promise<void> {
    if (this.written !== this.total) {
      const data = this.total - this.manifest.length;
      throw new PrivkitError('E_SHAPE', `the stream ended after ${this.written - this.manifest.length} of the manifest's ${data} tensor bytes`, { argument: 'chunk' });
    }
    while (this.window.size > 0) await this.emitNext(emit);
    if (this.signer !== undefined) emit(new Uint8Array(await crypto.subtle.sign('Ed25519', this.signer.privateKey, this.chain!.signedBytes())));
  }

  /** Seals one chunk of plaintext (a view of the staging buffer or of the input; WebCrypto copies it before returning) and starts the next. */
  private async sealChunk(plaintext: Uint8Array<ArrayBuffer>, emit: Emit): Promise<void> {
    const final = this.written === this.total;
    const iv = chunkNonce(this.nonceBase, this.index);
    const additionalData = chunkAad(this.headerHash, this.index, final);
    const signing = this.chain !== undefined;
    this.window.add(
      crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, this.key, plaintext).then(async (c) => {
        const chunk = new Uint8Array(c);
        return { chunk, digest: signing ? await sha256(chunk) : undefined };
      }),
    );
    this.index++;
    this.chunkLength = Math.min(this.chunkSize, this.total - this.written);
    this.filled = 0;
    if (this.window.size >= WINDOW) await this.emitNext(emit);
  }

  private async emitNext(emit: Emit): Promise<void> {
    const { chunk, digest } = await this.window.next();
    if (this.chain !== undefined) await this.chain.add(digest!);
    emit(chunk);
  }
}

// ---- Opening ----

interface OpenHandlers {
  manifest(specs: TensorSpec[]): void;
  piece(piece: TensorPiece): void;
}

/** Routes authenticated plaintext: the manifest's length and JSON, then each tensor's bytes in order. */
class PlaintextSink {
  private readonly head = new ByteQueue();
  private manifestBytes: number | undefined;
  private specs: TensorSpec[] | undefined;
  private sizes: number[] = [];
  private tensor = 0;
  private offset = 0;

  constructor(private readonly handlers: OpenHandlers) {}

  push(plain: Uint8Array): void {
    let rest = plain;
    if (this.specs === undefined) {
      this.head.push(rest);
      if (this.manifestBytes === undefined && this.head.length >= 4) {
        this.manifestBytes = readBigEndian(this.head.take(4), 0, 4);
        if (this.manifestBytes > MAX_MANIFEST_BYTES) throw new PrivkitError('E_AUTH', 'container is malformed: oversized manifest', { argument: 'container' });
      }
      if (this.manifestBytes === undefined || this.head.length < this.manifestBytes) return;
      this.specs = parseManifest(this.head.take(this.manifestBytes));
      this.sizes = this.specs.map(tensorBytes);
      this.handlers.manifest(this.specs);
      rest = this.head.take(this.head.length);
      this.skipEmpty();
    }
    let at = 0;
    while (at < rest.length) {
      if (this.tensor >= this.specs.length) throw new PrivkitError('E_AUTH', 'container is malformed: more data than its manifest declares', { argument: 'container' });
      const count = Math.min(rest.length - at, this.sizes[this.tensor]! - this.offset);
      this.handlers.piece({ index: this.tensor, name: this.specs[this.tensor]!.name, byteOffset: this.offset, bytes: rest.subarray(at, at + count) });
      at += count;
      this.offset += count;
      this.skipEmpty();
    }
  }

  /** After the final chunk: everything the manifest declares must have arrived. */
  end(): void {
    if (this.specs === undefined || this.tensor < this.specs.length) throw new PrivkitError('E_AUTH', 'container is malformed: less data than its manifest declares', { argument: 'container' });
  }

  private skipEmpty(): void {
    while (this.tensor < this.specs!.length && this.offset === this.sizes[this.tensor]) {
      this.tensor++;
      this.offset = 0;
    }
  }
}

const truncated = () => new PrivkitError('E_AUTH', 'container is truncated', { argument: 'container' });
const tampered = (index: number, cause?: unknown) =>
  new PrivkitError('E_AUTH', `chunk ${index} failed authentication (tampered, reordered, truncated or from another container)`, { argument: 'container', cause });

class Opener {
  private readonly queue = new ByteQueue();
  private prefix: Uint8Array | undefined;
  private stage: 'prefix' | 'header' | 'chunks' = 'prefix';
  private headerLength = 0;
  private key: CryptoKey | undefined;
  private nonceBase: Uint8Array = new Uint8Array(0);
  private headerHash: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  private chunkBytes = 0;
  private trailer = 0;
  private chain: ChunkChain | undefined;
  private index = 0;
  /** Decrypted chunks, with the SHA-256 of their ciphertext when a signature is verified. */
  private readonly window = new InFlight<{ plain: Uint8Array; digest: Uint8Array | undefined }>();
  private readonly sink: PlaintextSink;

  constructor(
    private readonly openingKey: ReadyOpeningKey,
    private readonly verify: { key: CryptoKey; keyId: Uint8Array } | undefined,
    handlers: OpenHandlers,
    /** Chunks decrypted at once. */
    private readonly depth: number,
  ) {
    this.sink = new PlaintextSink(handlers);
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.queue.push(bytes);
    await this.advance();
  }

  /** The end of the container: the final chunk, the signature, and the manifest's completeness. */
  async finish(): Promise<void> {
    await this.advance();
    if (this.stage !== 'chunks') throw truncated();
    const remaining = this.queue.length - this.trailer;
    if (remaining < TAG_BYTES + 1 || remaining > this.chunkBytes) throw truncated();
    this.startChunk(this.queue.take(remaining), true);
    while (this.window.size > 0) await this.takeNext();
    if (this.trailer > 0) {
      const signature = this.queue.take(SIGNATURE_BYTES);
      if (this.verify !== undefined && !(await crypto.subtle.verify('Ed25519', this.verify.key, new Uint8Array(signature), this.chain!.signedBytes()))) {
        throw new PrivkitError('E_AUTH', 'the signature does not verify under opts.verifyKey', { argument: 'opts.verifyKey' });
      }
    }
    this.sink.end();
  }

  private async advance(): Promise<void> {
    if (this.stage === 'prefix' && this.queue.length >= PREFIX_BYTES) {
      this.prefix = new Uint8Array(this.queue.take(PREFIX_BYTES));
      this.headerLength = readPrefix(this.prefix);
      this.stage = 'header';
    }
    if (this.stage === 'header' && this.queue.length >= this.headerLength) {
      await this.readHeader(this.queue.take(this.headerLength));
      this.stage = 'chunks';
    }
    if (this.stage !== 'chunks') return;
    // A chunk is known not to be the last once more bytes than a chunk and the trailer follow it.
    while (this.queue.length > this.chunkBytes + this.trailer) {
      this.startChunk(this.queue.take(this.chunkBytes), false);
      if (this.window.size >= this.depth) await this.takeNext();
    }
  }

  private async readHeader(json: Uint8Array): Promise<void> {
    const bytes = new Uint8Array(this.prefix!.length + json.length);
    bytes.set(this.prefix!);
    bytes.set(json, this.prefix!.length);
    const { header, nonceBase, keyCommitment } = parseHeader(bytes.subarray(this.prefix!.length)); // our copy: never a view of shared memory
    if (this.verify !== undefined) {
      if (header.signer === null) throw new PrivkitError('E_AUTH', 'container is not signed, but opts.verifyKey asks for a signature', { argument: 'opts.verifyKey' });
      if (header.signer.keyId !== toBase64Url(this.verify.keyId)) throw new PrivkitError('E_AUTH', 'container is signed by another key than opts.verifyKey', { argument: 'opts.verifyKey' });
    }
    let cek: Uint8Array<ArrayBuffer>;
    try {
      cek = await unwrapKey(this.openingKey, header.recipients);
    } finally {
      wipeSecrets([this.openingKey]); // the passphrase bytes are not needed after the unwrap
    }
    try {
      const { chunkKey, commitment } = await contentKeys(cek);
      if (!equalBytes(commitment, keyCommitment)) throw new PrivkitError('E_AUTH', 'the unwrapped key does not match the key commitment (a tampered recipient entry)', { argument: 'container' });
      this.key = chunkKey;
    } finally {
      wipe(cek);
    }
    this.nonceBase = nonceBase;
    this.headerHash = await sha256(bytes);
    this.chunkBytes = header.chunkSize + TAG_BYTES;
    this.trailer = header.signer === null ? 0 : SIGNATURE_BYTES;
    if (header.signer !== null && this.verify !== undefined) this.chain = ChunkChain.start(this.headerHash);
  }

  private startChunk(ciphertext: Uint8Array, final: boolean): void {
    const index = this.index++;
    if (index >= MAX_CHUNKS) throw tampered(index);
    const iv = chunkNonce(this.nonceBase, index);
    const additionalData = chunkAad(this.headerHash, index, final);
    const data = (ciphertext.buffer instanceof ArrayBuffer ? ciphertext : ciphertext.slice()) as Uint8Array<ArrayBuffer>; // WebCrypto refuses shared memory
    const digest = this.chain === undefined ? undefined : sha256(data); // both calls copy `data` before they return
    const decrypted = crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData }, this.key!, data).then(
      async (plain) => ({ plain: new Uint8Array(plain), digest: await digest }),
      (cause: unknown) => {
        throw tampered(index, cause);
      },
    );
    digest?.catch(() => undefined);
    this.window.add(decrypted);
  }

  private async takeNext(): Promise<void> {
    const { plain, digest } = await this.window.next();
    if (this.chain !== undefined) await this.chain.add(digest!);
    this.sink.push(plain);
  }
}

// ---- Argument reading ----

function readChunkSize(value: unknown): number {
  if (value === undefined) return DEFAULT_CHUNK_SIZE;
  return checkNumber('opts.chunkSize', value, { integer: true, min: MIN_CHUNK_SIZE, max: MAX_CHUNK_SIZE });
}

async function readSealOptions(opts: unknown): Promise<{ recipients: ReadyRecipient[]; signer: ReadySigner | undefined; chunkSize: number }> {
  if (opts === null || typeof opts !== 'object') throw new PrivkitError('E_ARG', `opts must be an object with recipients, got ${describe(opts)}`, { argument: 'opts' });
  const o = readOptions(opts as SealOptions, ['recipients', 'signer', 'chunkSize']);
  const chunkSize = readChunkSize(o.chunkSize);
  const signer = o.signer === undefined ? undefined : await readSigner(o.signer);
  return { recipients: await readRecipients(o.recipients), signer, chunkSize };
}

async function readOpenOptions(opts: unknown, keys: readonly (keyof OpenStreamOptions)[] = ['key', 'verifyKey']) {
  if (opts === null || typeof opts !== 'object') throw new PrivkitError('E_ARG', `opts must be an object with a key, got ${describe(opts)}`, { argument: 'opts' });
  const o = readOptions(opts as OpenStreamOptions, keys);
  const release = assertOneOf('opts.release', o.release, ['verified', 'chunk'] as const, 'verified');
  const verify = o.verifyKey === undefined ? undefined : await importVerifyKey(o.verifyKey);
  return { key: await readOpeningKey(o.key), verify, release };
}

/** The tensors of a seal call, as specs and byte views, in the record's (or map's) order. */
function readTensors(value: unknown): { specs: TensorSpec[]; views: Uint8Array[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new PrivkitError('E_ARG', `tensors must be a Map or an object of named tensors, got ${describe(value)}`, { argument: 'tensors' });
  }
  const entries: [string, unknown][] = value instanceof Map ? [...value.entries()] : Object.entries(value);
  if (entries.length > MAX_TENSORS) throw new PrivkitError('E_ARG', `tensors must hold at most ${MAX_TENSORS} tensors, got ${entries.length}`, { argument: 'tensors' });
  const specs: TensorSpec[] = [];
  const views: Uint8Array[] = [];
  for (const [name, item] of entries) {
    const argument = `tensors.${typeof name === 'string' ? name.slice(0, 64) : describe(name)}`;
    const isTensor = item !== null && typeof item === 'object' && !ArrayBuffer.isView(item);
    const fields = isTensor ? readOptions(item as Tensor, ['data', 'shape'], argument) : { data: item, shape: undefined };
    const dataName = isTensor ? `${argument}.data` : argument;
    const data = checkTypedArray(dataName, fields.data, ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array']) as TensorData;
    const dtype = DTYPE_OF[typedArrayKind(data)!]!;
    const length = currentLength(data);
    const shape = fields.shape === undefined ? [length] : Array.isArray(fields.shape) ? Array.from(fields.shape as number[]) : fields.shape;
    const problem = specProblem(name, dtype, shape);
    if (problem !== undefined) throw new PrivkitError('E_ARG', `${argument}: ${problem.message}`, { argument: problem.field === 'name' ? 'tensors' : `${argument}.shape` });
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (elements !== length) throw new PrivkitError('E_SHAPE', `${argument}: shape [${(shape as number[]).join(', ')}] has ${elements} elements, the data ${length}`, { argument: `${argument}.shape` });
    specs.push({ name, dtype, shape: shape as number[] });
    views.push(new Uint8Array(data.buffer, data.byteOffset, length * DTYPE_BYTES[dtype]));
  }
  return { specs, views };
}

function readSpecs(value: unknown): TensorSpec[] {
  const names = new Set<string>();
  return readArray(
    'manifest',
    value,
    (argument, item) => {
      if (item === null || typeof item !== 'object') throw new PrivkitError('E_ARG', `${argument} must be { name, dtype, shape }, got ${describe(item)}`, { argument });
      const { name, dtype, shape } = readOptions(item as TensorSpec, ['name', 'dtype', 'shape'], argument);
      const problem = specProblem(name, dtype, shape) ?? (names.has(name as string) ? { field: 'name', message: 'a repeated name' } : undefined);
      if (problem !== undefined) throw new PrivkitError('E_ARG', `${argument}.${problem.field}: ${problem.message}`, { argument: `${argument}.${problem.field}` });
      names.add(name as string);
      return { name: name as string, dtype: dtype as TensorDtype, shape: Array.from(shape as number[]) };
    },
    MAX_TENSORS,
  );
}

// ---- Public API ----

/**
 * Seals named tensors into an encrypted container (docs/FORMAT.md): AES-256-GCM in chunks under a
 * fresh content key wrapped for each recipient; optionally signed with Ed25519. The tensor names,
 * dtypes and shapes travel encrypted; the container's size, chunk size and recipient entries are
 * visible.
 *
 * @param tensors - a Map or object of name -> Float32Array / Float64Array / Int32Array / Uint8Array, or `{ data, shape }`; sealed in its iteration order.
 * @param opts - `recipients` (public keys from {@link generateRecipientKeys} or `{ passphrase }`), `signer`, `chunkSize`.
 * @returns the container bytes.
 * @throws {PrivkitError} E_ARG for a bad argument (naming it), E_SHAPE when a shape does not match its data.
 *
 * @example
 * ```ts
 * import { generateRecipientKeys, openTensors, sealTensors } from 'privkit/protect';
 * const alice = await generateRecipientKeys();
 * const sealed = await sealTensors({ w: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] } }, { recipients: [alice] });
 * const opened = await openTensors(sealed, { key: alice });
 * console.log(opened.get('w')?.shape); // [ 2, 2 ]
 * ```
 */
export async function sealTensors(tensors: ReadonlyMap<string, TensorData | Tensor> | Readonly<Record<string, TensorData | Tensor>>, opts: SealOptions): Promise<Uint8Array<ArrayBuffer>> {
  const { specs, views } = readTensors(tensors);
  const { recipients, signer, chunkSize } = await readSealOptions(opts);
  const sealer = await Sealer.create(specs, recipients, signer, chunkSize, 'tensors');
  const out = new Uint8Array(sealer.containerBytes);
  let at = 0;
  const emit: Emit = (bytes) => {
    out.set(bytes, at);
    at += bytes.length;
  };
  await sealer.begin(emit);
  for (const [i, view] of views.entries()) {
    if (view.byteLength === 0 && tensorBytes(specs[i]!) > 0) throw new PrivkitError('E_ARG', `tensor ${specs[i]!.name} was detached during the call`, { argument: 'tensors' });
    await sealer.write(view, emit);
  }
  await sealer.finish(emit);
  return out;
}

/**
 * Opens a container from {@link sealTensors} or {@link createSealStream}: unwraps the content key
 * with `opts.key`, authenticates every chunk (and, with `opts.verifyKey`, the signature) and
 * returns the tensors; nothing is returned of a container that fails.
 *
 * @param container - the container bytes.
 * @param opts - `key` (a recipient key pair or `{ passphrase }`), `verifyKey` (the signer's Ed25519 public key).
 * @returns a Map of name -> { dtype, shape, data } in sealing order.
 * @throws {PrivkitError} E_AUTH for a wrong key or passphrase, any tampered, truncated, reordered or spliced byte, or a bad signature; E_ARG for an argument that is not a container (wrong magic, unknown version).
 *
 * @example
 * ```ts
 * import { openTensors, sealTensors } from 'privkit/protect';
 * const sealed = await sealTensors({ bias: new Float64Array([0.5]) }, { recipients: [{ passphrase: 'correct horse battery staple' }] });
 * const opened = await openTensors(sealed, { key: { passphrase: 'correct horse battery staple' } });
 * console.log(opened.get('bias')?.data); // Float64Array(1) [ 0.5 ]
 * ```
 */
export async function openTensors(container: Uint8Array, opts: OpenOptions): Promise<Map<string, OpenedTensor>> {
  const bytes = checkTypedArray('container', container, ['Uint8Array']);
  const { key, verify } = await readOpenOptions(opts);
  const tensors = new Map<string, OpenedTensor>();
  const targets: Uint8Array[] = [];
  const opener = new Opener(key, verify, {
    manifest(specs) {
      // The manifest is authentic, but anyone can seal to a public key: allocate no more than the container can fill.
      if (specs.reduce((sum, spec) => sum + tensorBytes(spec), 0) > bytes.length) {
        throw new PrivkitError('E_AUTH', 'container is malformed: its manifest declares more tensor bytes than the container holds', { argument: 'container' });
      }
      for (const spec of specs) {
        const data = new CONSTRUCTOR[spec.dtype](spec.shape.reduce((a, b) => a * b, 1));
        tensors.set(spec.name, { dtype: spec.dtype, shape: spec.shape, data });
        targets.push(new Uint8Array(data.buffer));
      }
    },
    piece({ index, byteOffset, bytes: piece }) {
      targets[index]!.set(piece, byteOffset);
    },
  }, WINDOW);
  try {
    await opener.write(bytes);
    await opener.finish();
  } finally {
    wipeSecrets([key]);
  }
  return tensors;
}

/**
 * A Web Streams transform that seals tensors written to it as bytes: write each tensor's bytes
 * (little-endian, e.g. `new Uint8Array(t.buffer, t.byteOffset, t.byteLength)`) in manifest
 * order, in pieces of any size; read the container bytes. Memory stays within a few chunks.
 * Writing more or fewer bytes than the manifest declares errors the stream with E_SHAPE.
 *
 * @param manifest - the tensors' names, dtypes ('float32', 'float64', 'int32', 'uint8') and shapes, in writing order.
 * @param opts - as {@link sealTensors}.
 * @returns a TransformStream from tensor bytes to container bytes (keys are wrapped before it resolves).
 * @throws {PrivkitError} E_ARG for a bad manifest or option.
 *
 * @example
 * ```ts
 * import { createOpenStream, createSealStream, generateRecipientKeys } from 'privkit/protect';
 * const bob = await generateRecipientKeys();
 * const seal = await createSealStream([{ name: 'x', dtype: 'uint8', shape: [3] }], { recipients: [bob] });
 * const open = await createOpenStream({ key: bob });
 * const reader = new Blob([new Uint8Array([1, 2, 3])]).stream().pipeThrough(seal).pipeThrough(open).getReader();
 * for (let r = await reader.read(); !r.done; r = await reader.read()) console.log(r.value.name, r.value.bytes); // x Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export async function createSealStream(manifest: readonly TensorSpec[], opts: SealOptions): Promise<TransformStream<Uint8Array, Uint8Array>> {
  const specs = readSpecs(manifest);
  const { recipients, signer, chunkSize } = await readSealOptions(opts);
  const sealer = await Sealer.create(specs, recipients, signer, chunkSize, 'manifest');
  return new TransformStream<Uint8Array, Uint8Array>({
    async start(controller) {
      await sealer.begin((c) => controller.enqueue(c));
    },
    async transform(chunk, controller) {
      const bytes = checkTypedArray('chunk', chunk, ['Uint8Array']);
      await sealer.write(bytes, (c) => controller.enqueue(c));
    },
    async flush(controller) {
      await sealer.finish((c) => controller.enqueue(c));
    },
  });
}

/**
 * A Web Streams transform that opens a container written to it in pieces of any size and yields
 * its tensors as {@link TensorPiece}s. By default (`release: 'verified'`) nothing leaves the stream
 * before the whole container has authenticated; `release: 'chunk'` streams each authenticated
 * chunk at once with memory bounded by a few chunks (see {@link OpenStreamOptions.release}).
 *
 * @param opts - as {@link openTensors}, and `release`.
 * @returns `{ writable, readable, manifest }`; `manifest` resolves when the tensors' names, dtypes and shapes are known (with 'verified': at the end).
 * @throws {PrivkitError} E_ARG for a bad option; the stream errors with E_AUTH for a wrong key, tampering or truncation.
 *
 * @example
 * ```ts
 * import { createOpenStream, sealTensors } from 'privkit/protect';
 * const key = { passphrase: 'a long passphrase' };
 * const sealed = await sealTensors({ ids: new Int32Array([7, 8]) }, { recipients: [key] });
 * const open = await createOpenStream({ key });
 * const reader = new Blob([sealed]).stream().pipeThrough(open).getReader();
 * for (let r = await reader.read(); !r.done; r = await reader.read()) console.log(r.value.name, r.value.bytes.length); // ids 8
 * console.log(await open.manifest); // [ { name: 'ids', dtype: 'int32', shape: [ 2 ] } ]
 * ```
 */
export async function createOpenStream(opts: OpenStreamOptions): Promise<OpenStream> {
  const { key, verify, release } = await readOpenOptions(opts, ['key', 'verifyKey', 'release']);
  let resolveManifest!: (specs: TensorSpec[]) => void;
  let rejectManifest!: (reason: unknown) => void;
  const manifest = new Promise<TensorSpec[]>((resolve, reject) => {
    resolveManifest = resolve;
    rejectManifest = reject;
  });
  manifest.catch(() => undefined);
  let controllerRef!: TransformStreamDefaultController<TensorPiece>;
  let held: TensorSpec[] | undefined;
  const heldPieces: TensorPiece[] = [];
  const opener = new Opener(key, verify, {
    manifest(specs) {
      if (release === 'chunk') resolveManifest(specs);
      else held = specs;
    },
    piece(piece) {
      if (release === 'chunk') controllerRef.enqueue(piece);
      else heldPieces.push(piece);
    },
  }, WINDOW - 1);
  const fail = (e: unknown) => {
    wipeSecrets([key]);
    rejectManifest(e);
    throw e;
  };
  const stream = new TransformStream<Uint8Array, TensorPiece>({
    start(controller) {
      controllerRef = controller;
    },
    async transform(chunk) {
      try {
        await opener.write(checkTypedArray('chunk', chunk, ['Uint8Array']));
      } catch (e) {
        fail(e);
      }
    },
    async flush(controller) {
      try {
        await opener.finish();
      } catch (e) {
        fail(e);
      }
      wipeSecrets([key]);
      if (held !== undefined) resolveManifest(held);
      for (const piece of heldPieces.splice(0)) controller.enqueue(piece);
    },
  });
  return { writable: stream.writable, readable: stream.readable, manifest };
}
