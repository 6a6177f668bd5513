// The measurements of the protect benchmark, shared by Node (`npm run bench protect`) and Chromium
// (`npm run bench protect-browser`, which bundles this file into a page): sealing and opening a
// model (one Float32Array) in 1 MiB chunks, whole (sealTensors / openTensors) and streamed
// (createSealStream piped into createOpenStream with release 'chunk'), against calling WebCrypto
// AES-GCM directly on the same 1 MiB chunks one after another (the goal: >= 0.8x of it) and
// the copy bandwidth (`dst.set(src)` over the model). The tasks run interleaved, round after round,
// and each reports its median, so a change in the machine's background load hits all of them alike.
// Then the peak of live ArrayBuffer memory above the input while the streams run, collected and
// sampled at every piece they yield, through the runtime's own `gc` and `liveBytes`.
import { createOpenStream, createSealStream, generateRecipientKeys, openTensors, sealTensors, type RecipientKeyPair } from '../src/protect/index.js';
import { xorshift32 } from './xorshift.js';

export const CHUNK = 1 << 20;
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
  vsRawWebCrypto?: number;
  meetsTarget?: boolean;
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
  const rawEncrypt = async () => {
    for (let at = 0; at < bytes.length; at += CHUNK) await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, rawKey, bytes.subarray(at, at + CHUNK));
  };
  const rawChunks: Uint8Array<ArrayBuffer>[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) {
    rawChunks.push(new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, rawKey, bytes.subarray(at, at + CHUNK))));
  }
  const rawDecrypt = async () => {
    for (const chunk of rawChunks) await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, rawKey, chunk);
  };
  const copy = new Uint8Array(modelBytes);

  const tasks: Record<string, { run: () => unknown; reference?: string }> = {
    'raw WebCrypto AES-GCM encrypt, per chunk': { run: rawEncrypt },
    'raw WebCrypto AES-GCM decrypt, per chunk': { run: rawDecrypt },
    'raw encrypt + decrypt': { run: async () => (await rawEncrypt(), await rawDecrypt()) },
    sealTensors: { run: () => sealTensors({ model }, { recipients: [key] }), reference: 'raw WebCrypto AES-GCM encrypt, per chunk' },
    openTensors: { run: () => openTensors(sealed, { key }), reference: 'raw WebCrypto AES-GCM decrypt, per chunk' },
    'createSealStream | createOpenStream': { run: () => streamRoundTrip(model, key), reference: 'raw encrypt + decrypt' },
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
    return { task: name, medianMs: ms, minMs: Math.min(...times[name]!), gbPerSecond: modelBytes / (ms * 1e6), vsCopy: copyMs / ms, vsRawWebCrypto: ratio, meetsTarget: ratio === undefined ? undefined : ratio >= 0.8 };
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
