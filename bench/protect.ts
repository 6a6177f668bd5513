// Protect suite of `npm run bench`: sealing and opening a 256 MiB model (one Float32Array) in
// 1 MiB chunks, whole (sealTensors / openTensors) and streamed (createSealStream piped into
// createOpenStream with release 'chunk'), against calling WebCrypto AES-GCM directly on the same
// 1 MiB chunks one after another (the goal: >= 0.8x of it) and the copy bandwidth
// (`dst.set(src)` over the model). The tasks run interleaved, round after round, and each reports
// its median, so a change in the machine's background load hits all of them alike (this machine is
// shared). Also the peak of live ArrayBuffer memory above the input while the stream runs (collected
// before each sample), in chunks. Prints the table and writes bench/results/protect.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createOpenStream, createSealStream, generateRecipientKeys, openTensors, sealTensors, type RecipientKeyPair } from '../src/protect/index.js';
import { textTable, xorshift32 } from './harness.js';

const MODEL_BYTES = 256 << 20;
const CHUNK = 1 << 20;
const ROUNDS = 7;

/**
 * Streams the model through seal and open; with `gc`, returns the peak of live ArrayBuffer bytes
 * above the start (collected and sampled at every piece the opener yields), else 0.
 */
async function streamRoundTrip(model: Float32Array, key: RecipientKeyPair, gc?: () => void): Promise<number> {
  const bytes = new Uint8Array(model.buffer);
  gc?.();
  const start = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const source = pieces(bytes);
  const seal = await createSealStream([{ name: 'model', dtype: 'float32', shape: [model.length] }], { recipients: [key] });
  const open = await createOpenStream({ key, release: 'chunk' });
  let received = 0;
  for await (const piece of source.pipeThrough(seal).pipeThrough(open) as unknown as AsyncIterable<{ bytes: Uint8Array }>) {
    received += piece.bytes.length;
    if (gc !== undefined) {
      gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - start);
    }
  }
  if (received !== bytes.length) throw new Error(`the stream returned ${received} of ${bytes.length} bytes`);
  return peak;
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

/** Reads a stream to its end; the peak of live ArrayBuffer bytes above the start, sampled (after a collection) at every piece. */
async function livePeak(stream: ReadableStream<unknown>, gc: () => void): Promise<number> {
  gc();
  const start = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const reader = stream.getReader();
  while (!(await reader.read()).done) {
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - start);
  }
  return peak;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

export async function protectSuite(): Promise<void> {
  const started = performance.now();
  const random = xorshift32(17);
  const model = Float32Array.from({ length: MODEL_BYTES / 4 }, () => random() - 0.5);
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
  const copy = new Uint8Array(MODEL_BYTES);

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
  const load0 = loadavg()[0]!;
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, task] of Object.entries(tasks)) {
      const t0 = performance.now();
      await task.run();
      if (round > 0) times[name]!.push(performance.now() - t0); // round 0 warms up
    }
  }
  const load = (load0 + loadavg()[0]!) / 2;
  const copyMs = median(times['copy (dst.set(src))']!);
  const rows = Object.entries(tasks).map(([name, task]) => {
    const ms = median(times[name]!);
    const ratio = task.reference === undefined ? undefined : median(times[task.reference]!) / ms;
    return { task: name, medianMs: ms, minMs: Math.min(...times[name]!), gbPerSecond: MODEL_BYTES / (ms * 1e6), vsCopy: copyMs / ms, vsRawWebCrypto: ratio, meetsTarget: ratio === undefined ? undefined : ratio >= 0.8 };
  });

  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const peaks = { seal: 0, open: 0, sealThenOpen: 0 };
  for (let i = 0; i < 3; i++) {
    const seal = await createSealStream([{ name: 'model', dtype: 'float32', shape: [model.length] }], { recipients: [key] });
    peaks.seal = Math.max(peaks.seal, await livePeak(pieces(bytes).pipeThrough(seal), gc));
    const open = await createOpenStream({ key, release: 'chunk' });
    peaks.open = Math.max(peaks.open, await livePeak(pieces(sealed).pipeThrough(open), gc));
    peaks.sealThenOpen = Math.max(peaks.sealThenOpen, await streamRoundTrip(model, key, gc));
  }
  const peakChunks = { seal: peaks.seal / CHUNK, open: peaks.open / CHUNK, sealThenOpen: peaks.sealThenOpen / CHUNK };

  console.log(`\nprivkit/protect: 256 MiB model, 1 MiB chunks, medians of ${ROUNDS} interleaved rounds ("x raw" = over raw WebCrypto AES-GCM on the same chunks)`);
  console.log(
    textTable(
      ['task', 'median ms', 'min ms', 'GB/s', 'x copy', 'x raw'],
      rows.map((r) => [r.task, r.medianMs.toFixed(0), r.minMs.toFixed(0), r.gbPerSecond.toFixed(2), r.vsCopy.toFixed(2), r.vsRawWebCrypto === undefined ? '' : r.vsRawWebCrypto.toFixed(2)]),
    ),
  );
  console.log(
    `streams: peak live ArrayBuffer memory above the input, in 1 MiB chunks (collected at each output piece, 3 runs): ` +
      `seal ${peakChunks.seal.toFixed(1)}, open ${peakChunks.open.toFixed(1)}, seal piped into open ${peakChunks.sealThenOpen.toFixed(1)}`,
  );

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, node: process.version, loadAverage: load };
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/protect.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, modelBytes: MODEL_BYTES, chunkBytes: CHUNK, rounds: ROUNDS, rows, streamPeakChunksAboveInput: peakChunks }, null, 2) + '\n');
  console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average ${load.toFixed(1)}; ${((performance.now() - started) / 1000).toFixed(0)} s; written ${file}`);
}
