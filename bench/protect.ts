// Protect suite of `npm run bench`: sealing and opening a 256 MiB model (one Float32Array) in
// 1 MiB chunks, whole (sealTensors / openTensors) and streamed (createSealStream piped into
// createOpenStream with release 'chunk'), against calling WebCrypto AES-GCM directly on the same
// 1 MiB chunks one after another (the reference: the goal is >= 0.8x of it) and the copy
// bandwidth floor (`dst.set(src)` over the model). Also the peak of ArrayBuffer memory above the
// input while the stream runs (live bytes: collected before each sample), in chunks. Prints the table and writes bench/results/protect.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createOpenStream, createSealStream, generateRecipientKeys, openTensors, sealTensors } from '../src/protect/index.js';
import { formatTable, measure, xorshift32, type TimingOptions } from './harness.js';

const MODEL_BYTES = 256 << 20;
const CHUNK = 1 << 20;
const TIMING: TimingOptions = { time: 1500, iterations: 4, warmupTime: 0, warmupIterations: 1 };

/**
 * Streams the model through seal and open; with `gc`, returns the peak of live ArrayBuffer bytes
 * above the start (collected and sampled at every piece the opener yields), else 0.
 */
async function streamRoundTrip(model: Float32Array, key: Awaited<ReturnType<typeof generateRecipientKeys>>, gc?: () => void): Promise<number> {
  const bytes = new Uint8Array(model.buffer);
  gc?.();
  const start = process.memoryUsage().arrayBuffers;
  let peak = 0;
  let at = 0;
  const source = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (at === bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(at, at + CHUNK / 4)); // a view: the input is already in memory
        at += CHUNK / 4;
      },
    },
    { highWaterMark: 0 },
  );
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
  const rawChunks: Uint8Array<ArrayBuffer>[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) {
    rawChunks.push(new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, rawKey, bytes.subarray(at, at + CHUNK))));
  }
  const copy = new Uint8Array(MODEL_BYTES);

  const sealRows = await measure(
    {
      kernel: 'seal 256 MiB',
      shape: 'Float32 x 64M, 1 MiB chunks',
      inputBytes: MODEL_BYTES,
      tasks: [
        { name: 'sealTensors', kind: 'library', fn: () => sealTensors({ model }, { recipients: [key] }) },
        {
          name: 'WebCrypto AES-GCM per chunk',
          kind: 'reference',
          fn: async () => {
            for (let at = 0; at < bytes.length; at += CHUNK) await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, rawKey, bytes.subarray(at, at + CHUNK));
          },
        },
        { name: 'copy (dst.set(src))', kind: 'baseline', fn: () => copy.set(bytes) },
      ],
    },
    TIMING,
  );
  const openRows = await measure(
    {
      kernel: 'open 256 MiB',
      shape: 'Float32 x 64M, 1 MiB chunks',
      inputBytes: MODEL_BYTES,
      tasks: [
        { name: 'openTensors', kind: 'library', fn: () => openTensors(sealed, { key }) },
        { name: 'seal + open streams', kind: 'library', fn: () => streamRoundTrip(model, key) },
        {
          name: 'WebCrypto AES-GCM per chunk',
          kind: 'reference',
          fn: async () => {
            for (const chunk of rawChunks) await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, rawKey, chunk);
          },
        },
        { name: 'copy (dst.set(src))', kind: 'baseline', fn: () => copy.set(bytes) },
      ],
    },
    TIMING,
  );
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const peaks: number[] = [];
  for (let i = 0; i < 3; i++) peaks.push(await streamRoundTrip(model, key, gc));
  const peakChunks = Math.max(...peaks) / CHUNK;

  console.log('\nprivkit/protect: seal (x JS = over raw WebCrypto AES-GCM on the same chunks)');
  console.log(formatTable(sealRows));
  console.log('\nprivkit/protect: open (x JS = over raw WebCrypto AES-GCM; the stream row seals and opens)');
  console.log(formatTable(openRows));
  console.log(`\nstream seal + open of 256 MiB: peak live ArrayBuffer memory above the input ${peakChunks.toFixed(1)} chunks (of 1 MiB; collected at each piece), over 3 runs`);

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, node: process.version };
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/protect.json');
  mkdirSync(dirname(file), { recursive: true });
  const rows = [...sealRows, ...openRows].map((r) => ({ ...r, ...(r.kind === 'library' ? { vsRawWebCrypto: r.vsReference, meetsTarget: r.vsReference >= 0.8 } : {}) }));
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, modelBytes: MODEL_BYTES, chunkBytes: CHUNK, rows, streamPeakChunksAboveInput: peakChunks }, null, 2) + '\n');
  console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${((performance.now() - started) / 1000).toFixed(0)} s; written ${file}`);
}
