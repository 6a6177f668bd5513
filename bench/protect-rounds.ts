// The measurements of the protect benchmark, shared by Node (`npm run bench protect`) and Chromium
// (`npm run bench protect-browser`, which bundles this file into a page): sealing and opening a
// model (one Float32Array) in 1 MiB chunks, whole (sealTensors / openTensors) and streamed
// (createSealStream piped into createOpenStream with release 'chunk'), against calling WebCrypto
// AES-GCM directly on the same 1 MiB chunks one after another (the goal: >= 0.8x of it) and
// the copy bandwidth (`dst.set(src)` over the model). Calling WebCrypto directly and dropping its
// results allocates no output; sealTensors and openTensors return one, so each is also compared
// with the raw calls copying their results into a fresh output of the same size (the same
// allocation policy: "x raw+out"), and the cost of a fresh buffer alone (allocated and written once:
// its pages are faulted in on first touch) is a row of its own. The whole-buffer calls are measured
// in 256 KiB chunks too (opts.chunkSize), against raw calls on 256 KiB chunks.
// The tasks run interleaved, round after round, and each reports its median, so a change in the
// machine's background load hits all of them alike.
// Then the peak of live ArrayBuffer memory above the input while the streams run, collected and
// sampled at every piece they yield, through the runtime's own `gc` and `liveBytes`.
import { createOpenStream, createSealStream, generateRecipientKeys, openTensors, sealTensors, type RecipientKeyPair } from '../src/protect/index.js';
import { xorshift32 } from './xorshift.js';

export const CHUNK = 1 << 20;
/** The smaller chunk size measured too. */
export const SMALL_CHUNK = 1 << 18;
export const ROUNDS = 7;

/** How a runtime collects garbage and reports its live ArrayBuffer bytes. */
export interface MemoryProbe {
  gc: () => void | Promise<void>;
  liveBytes: () => number | Promise<number>;
}

export interface ProtectRow {
  task: string;
  medianMs: number;
  minMs: number;
  gbPerSecond: number;
  vsCopy: number;
  /** Over the raw calls dropping their results. */
  vsRawWebCrypto?: number;
  meetsTarget?: boolean;
  /** Over the raw calls copying their results into a fresh output of the same size. */
  vsRawFreshOutput?: number;
}

export interface ProtectMeasurement {
  modelBytes: number;
  chunkBytes: number;
  rounds: number;
  rows: ProtectRow[];
  /** Peak live ArrayBuffer memory above the start of each stream, in chunks (max of 3 runs). */
  streamPeakChunksAboveInput: { seal: number; open: number; sealThenOpen: number };
}

/** The input in quarter-chunk views, pulled one at a time. */
function pieces(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(at, at + CHUNK / 4));
        at += CHUNK / 4;
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Reads a stream to its end and returns the number of bytes it yielded (of `{ bytes }` pieces or
 * byte arrays); with a probe, also the peak of live ArrayBuffer bytes above the start, collected
 * and sampled at every piece (else 0).
 */
async function drain(stream: ReadableStream<unknown>, probe?: MemoryProbe): Promise<{ received: number; peak: number }> {
  await probe?.gc();
  const start = probe === undefined ? 0 : await probe.liveBytes();
  let peak = 0;
  let received = 0;
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    const value = next.value as Uint8Array | { bytes: Uint8Array };
    received += value instanceof Uint8Array ? value.length : value.bytes.length;
    if (probe !== undefined) {
      await probe.gc();
      peak = Math.max(peak, (await probe.liveBytes()) - start);
    }
  }
  return { received, peak };
}

const spec = (model: Float32Array) => [{ name: 'model', dtype: 'float32' as const, shape: [model.length] }];

/** Streams the model through seal and open; returns the memory peak (0 without a probe). */
async function streamRoundTrip(model: Float32Array, key: RecipientKeyPair, probe?: MemoryProbe): Promise<number> {
  const seal = await createSealStream(spec(model), { recipients: [key] });
  const open = await createOpenStream({ key, release: 'chunk' });
  const { received, peak } = await drain(pieces(new Uint8Array(model.buffer)).pipeThrough(seal).pipeThrough(open), probe);
  if (received !== model.byteLength) throw new Error(`the stream returned ${received} of ${model.byteLength} bytes`);
  return peak;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** Runs the benchmark on a model of `modelBytes` (a multiple of the chunk size). */
export async function measureProtect(modelBytes: number, probe: MemoryProbe): Promise<ProtectMeasurement> {
  const random = xorshift32(17);
  const model = Float32Array.from({ length: modelBytes / 4 }, () => random() - 0.5);
  const key = await generateRecipientKeys('ecdh');
  const sealed = await sealTensors({ model }, { recipients: [key] });
  const opened = (await openTensors(sealed, { key })).get('model')!.data;
  if (opened.length !== model.length || opened.some((v, i) => v !== model[i])) throw new Error('openTensors did not return the model');

  const rawKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const bytes = new Uint8Array(model.buffer);
  const iv = new Uint8Array(12);
  const aad = new Uint8Array(41);
  const encrypt = (at: number, chunk: number) => crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, rawKey, bytes.subarray(at, at + chunk));
  const encryptedChunks = async (chunk: number) => {
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    for (let at = 0; at < bytes.length; at += chunk) chunks.push(new Uint8Array(await encrypt(at, chunk)));
    return chunks;
  };
  /** Raw encryption of every chunk; with `output`, each result is copied there (else dropped). */
  const rawEncrypt = async (chunk: number, output?: Uint8Array) => {
    for (let at = 0, to = 0; at < bytes.length; at += chunk) {
      const sealed = await encrypt(at, chunk);
      output?.set(new Uint8Array(sealed), to);
      to += sealed.byteLength;
    }
  };
  /** Raw decryption of every chunk; with `output`, each result is copied there (else dropped). */
  const rawDecrypt = async (chunks: Uint8Array<ArrayBuffer>[], output?: Uint8Array) => {
    let to = 0;
    for (const chunk of chunks) {
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, rawKey, chunk);
      output?.set(new Uint8Array(plain), to);
      to += plain.byteLength;
    }
  };
  const rawChunks = await encryptedChunks(CHUNK);
  const rawSmallChunks = await encryptedChunks(SMALL_CHUNK);
  const sealedBytes = (chunk: number) => modelBytes + (modelBytes / chunk) * 16;
  const sealedSmall = await sealTensors({ model }, { recipients: [key], chunkSize: SMALL_CHUNK });
  const copy = new Uint8Array(modelBytes);

  const small = `${SMALL_CHUNK >> 10} KiB chunks`;
  const tasks: Record<string, { run: () => unknown; reference?: string; freshReference?: string }> = {
    'raw WebCrypto AES-GCM encrypt, per chunk': { run: () => rawEncrypt(CHUNK) },
    'raw WebCrypto AES-GCM decrypt, per chunk': { run: () => rawDecrypt(rawChunks) },
    'raw encrypt into a fresh output': { run: () => rawEncrypt(CHUNK, new Uint8Array(sealedBytes(CHUNK))) },
    'raw decrypt into a fresh output': { run: () => rawDecrypt(rawChunks, new Uint8Array(modelBytes)) },
    'raw encrypt + decrypt': { run: async () => (await rawEncrypt(CHUNK), await rawDecrypt(rawChunks)) },
    sealTensors: { run: () => sealTensors({ model }, { recipients: [key] }), reference: 'raw WebCrypto AES-GCM encrypt, per chunk', freshReference: 'raw encrypt into a fresh output' },
    openTensors: { run: () => openTensors(sealed, { key }), reference: 'raw WebCrypto AES-GCM decrypt, per chunk', freshReference: 'raw decrypt into a fresh output' },
    'createSealStream | createOpenStream': { run: () => streamRoundTrip(model, key), reference: 'raw encrypt + decrypt' },
    [`raw encrypt, ${small}`]: { run: () => rawEncrypt(SMALL_CHUNK) },
    [`raw decrypt, ${small}`]: { run: () => rawDecrypt(rawSmallChunks) },
    [`raw encrypt into a fresh output, ${small}`]: { run: () => rawEncrypt(SMALL_CHUNK, new Uint8Array(sealedBytes(SMALL_CHUNK))) },
    [`raw decrypt into a fresh output, ${small}`]: { run: () => rawDecrypt(rawSmallChunks, new Uint8Array(modelBytes)) },
    [`sealTensors, ${small}`]: {
      run: () => sealTensors({ model }, { recipients: [key], chunkSize: SMALL_CHUNK }),
      reference: `raw encrypt, ${small}`,
      freshReference: `raw encrypt into a fresh output, ${small}`,
    },
    [`openTensors, ${small}`]: { run: () => openTensors(sealedSmall, { key }), reference: `raw decrypt, ${small}`, freshReference: `raw decrypt into a fresh output, ${small}` },
    'fresh buffer of the model size, written once': { run: () => new Uint8Array(modelBytes).fill(1) },
    'copy (dst.set(src))': { run: () => copy.set(bytes) },
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(tasks).map((name) => [name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, task] of Object.entries(tasks)) {
      const t0 = performance.now();
      await task.run();
      if (round > 0) times[name]!.push(performance.now() - t0); // round 0 warms up
    }
  }
  const copyMs = median(times['copy (dst.set(src))']!);
  const rows = Object.entries(tasks).map(([name, task]): ProtectRow => {
    const ms = median(times[name]!);
    const ratio = task.reference === undefined ? undefined : median(times[task.reference]!) / ms;
    const freshRatio = task.freshReference === undefined ? undefined : median(times[task.freshReference]!) / ms;
    return {
      task: name,
      medianMs: ms,
      minMs: Math.min(...times[name]!),
      gbPerSecond: modelBytes / (ms * 1e6),
      vsCopy: copyMs / ms,
      vsRawWebCrypto: ratio,
      meetsTarget: ratio === undefined ? undefined : ratio >= 0.8,
      vsRawFreshOutput: freshRatio,
    };
  });

  const peaks = { seal: 0, open: 0, sealThenOpen: 0 };
  for (let i = 0; i < 3; i++) {
    const seal = await createSealStream(spec(model), { recipients: [key] });
    peaks.seal = Math.max(peaks.seal, (await drain(pieces(bytes).pipeThrough(seal), probe)).peak);
    const open = await createOpenStream({ key, release: 'chunk' });
    peaks.open = Math.max(peaks.open, (await drain(pieces(sealed).pipeThrough(open), probe)).peak);
    peaks.sealThenOpen = Math.max(peaks.sealThenOpen, await streamRoundTrip(model, key, probe));
  }
  return {
    modelBytes,
    chunkBytes: CHUNK,
    rounds: ROUNDS,
    rows,
    streamPeakChunksAboveInput: { seal: peaks.seal / CHUNK, open: peaks.open / CHUNK, sealThenOpen: peaks.sealThenOpen / CHUNK },
  };
}
