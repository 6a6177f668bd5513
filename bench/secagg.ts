// Secure-aggregation suite of `npm run bench`: the data plane of SecAgg+ with distributed DP for
// n = 100 clients x 100,000 parameters, 16 neighbours (17 masks per client: the self mask and one
// pairwise mask per neighbour), 20-bit words, the noise of planDistributedDp (clip norm 1,
// noise multiplier 1).
//   Client: clip + randomized Hadamard rotation (pads 100,000 -> 131,072) + quantize (conditional
//   rounding, discrete Gaussian noise) + 17 masks, its parts, the JS reference path, and the floor:
//   the 17 masks' ChaCha20 keystream alone (wasm, no add), at 100,000 and at 131,072 words.
//   Signatures, key agreement and secret sharing (Ed25519, X25519 + HKDF + AES-GCM + Shamir per
//   neighbour, the consistency check) are per-round protocol cost, measured apart on a one-word
//   vector for 100 and 1,000 clients.
//   Server: closeUnmasking (rebuild secrets, recompute dropped clients' pairwise masks, remove
//   masks, sum) with 0% dropout, 10% dropped before their masked input and 10% after it; against
//   the keystream floor of the masks it expands and the plain clipped sum (clipAndSum, float32).
// Prints the tables and writes bench/results/secagg.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { clipAndSum, clipByL2, ready } from '../src/index.js';
import { createRng, discreteGaussian, type Rng } from '../src/dp/index.js';
import * as reference from '../src/reference/index.js';
import { dpWasm } from '../src/dp/wasm.js';
import { WINDOW_BYTES } from '../src/wasm/boundary.js';
import {
  applyMasks,
  CommunicationGraph,
  generateSigningKeyPair,
  planDistributedDp,
  quantize,
  randomizedHadamard,
  rotationLength,
  SecAggClient,
  SecAggServer,
  simulateRound,
  type ClientMessage,
  type DistributedDpPlan,
  type Mask,
} from '../src/secagg/index.js';
import { measure, textTable, xorshift32, type BenchTask, type Row, type TimingOptions } from './harness.js';

const PARAMS = 100_000;
const CLIENTS = 100;
const NEIGHBOURS = 16;
const MASKS = NEIGHBOURS + 1;
const BITS = 20;
/** Shamir threshold: a majority of each 17-member neighbourhood (as SecureAggregator.threshold). */
const THRESHOLD = Math.floor(MASKS / 2) + 1;
const CLIENT_TIMING: TimingOptions = { time: 1500, iterations: 20, warmupTime: 300, warmupIterations: 5 };
const REFERENCE_TIMING: TimingOptions = { time: 3000, iterations: 3, warmupTime: 0, warmupIterations: 1 };
const PROTOCOL_TIMING: TimingOptions = { time: 3000, iterations: 4, warmupTime: 0, warmupIterations: 1 };
/** The larger protocol round: 1,000 clients, two rounds timed (each takes tens of seconds). */
const LARGE_ROUND = 1000;
const LARGE_PROTOCOL_TIMING: TimingOptions = { time: 0, iterations: 2, warmupTime: 0, warmupIterations: 0 };
/** Server rows: each sample runs a whole round and times only closeUnmasking (tinybench's time budget is unused). */
const SERVER_TIMING: TimingOptions = { time: 0, iterations: 8, warmupTime: 0, warmupIterations: 1 };
const SERVER_SAMPLES = SERVER_TIMING.iterations;
/** Keystream words per wasm call of the floor (as applyMasks' staging window). */
const FLOOR_CHUNK_WORDS = WINDOW_BYTES / 4;

interface SecAggRow extends Row {
  /** Masks expanded (keystreams of `words` words). */
  masks?: number;
  words?: number;
  /** meanMs / the mean of the keystream floor(s) of the table. */
  vsFloor?: Record<string, number>;
  /** meanMs / the plain clipped sum (server table). */
  vsPlainSum?: number;
  /** The timed samples (server table: one closeUnmasking per round), their standard deviation and maximum. */
  samplesMs?: number[];
  sdMs?: number;
  maxMs?: number;
}

/** A full GC before a timed server sample, so garbage of the round's setup is not collected inside it (node --expose-gc at runtime). */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return typeof gc === 'function' ? gc : () => {};
})();

/** A client update of PARAMS values with L2 norm about 2 (so clipping to 1 scales it). */
function update(seed: number): Float32Array {
  const next = xorshift32(seed);
  const x = new Float32Array(PARAMS);
  for (let i = 0; i < PARAMS; i++) x[i] = (2 * next() - 1) * Math.sqrt(12 / PARAMS);
  return x;
}

function randomSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** The client data path: clip (1 row) + rotate + quantize (conditional rounding + noise) + masks over the padded length. */
function clientPath(x: Float32Array, rotationSeed: Uint8Array, masks: readonly Mask[], plan: DistributedDpPlan, rng: Rng): Uint32Array {
  const clipped = clipByL2(x, 1, 1);
  const rotated = randomizedHadamard(clipped, rotationSeed);
  const q = quantize(rotated, quantizeOptions(plan, rng));
  return applyMasks(q, masks, plan.bits);
}

function quantizeOptions(plan: DistributedDpPlan, rng: Rng) {
  return {
    scale: plan.scale,
    bits: plan.bits,
    noiseSigma: plan.localSigma,
    rounding: 'conditional' as const,
    conditionalBound: plan.conditionalBound,
    rng,
  };
}

/** The 17 masks' keystream alone: ChaCha20 of each seed into wasm memory, `words` words each, nothing added. */
function keystreamFloor(seeds: readonly Uint8Array[], words: number): void {
  for (const seed of seeds) {
    createRng({ seed }).withGenerator(dpWasm, (kernels, g, arena) => {
      const ptr = arena.alloc(Math.min(words, FLOOR_CHUNK_WORDS) * 4);
      for (let start = 0; start < words; start += FLOOR_CHUNK_WORDS) kernels.chachaBytes(g, ptr, Math.min(FLOOR_CHUNK_WORDS, words - start) * 4);
    });
  }
}

// ---- The JS reference client path (src/reference + the plain-TS exact discrete Gaussian sampler) ----

const ZERO_NONCE = new Uint8Array(12);

/** `words` ChaCha20 keystream words of `key` (stream 0, counter from 0) from the reference block function. */
function jsKeystream(key: Uint8Array, words: number): Uint32Array {
  const out = new Uint32Array(words);
  for (let block = 0; block * 16 < words; block++) {
    const bytes = reference.chachaBlock(key, block, ZERO_NONCE);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 16 && block * 16 + i < words; i++) out[block * 16 + i] = view.getUint32(4 * i, true);
  }
  return out;
}

function jsMasks(target: Uint32Array, masks: readonly Mask[], bits: number): Uint32Array {
  const modulus = 2 ** bits - 1;
  for (const { seed, subtract } of masks) {
    const keystream = jsKeystream(seed, target.length);
    for (let i = 0; i < target.length; i++) target[i] = subtract ? target[i]! - keystream[i]! : target[i]! + keystream[i]!;
  }
  for (let i = 0; i < target.length; i++) target[i] = target[i]! & modulus;
  return target;
}

/** Conditional rounding (redrawn until ||q||_2 <= bound) with JS ChaCha uniforms, then exact discrete Gaussian noise (CKS20, plain TS). */
function jsQuantize(rotated: Float32Array, plan: DistributedDpPlan, rng: Rng): Uint32Array {
  const modulus = 2 ** plan.bits;
  for (let attempt = 0; attempt < 100; attempt++) {
    const words = jsKeystream(rng.bytes(32), 2 * rotated.length + 1024); // + spare words for the rare extended binades
    const uniforms = reference.uniformFromWords(words, rotated.length);
    const q = reference.quantize(rotated, { scale: plan.scale, bits: plan.bits, uniforms });
    let squares = 0;
    for (let i = 0; i < q.length; i++) {
      const v = q[i]! >= modulus / 2 ? q[i]! - modulus : q[i]!;
      squares += v * v;
    }
    if (squares > plan.conditionalBound ** 2) continue;
    const noise = discreteGaussian(q.length, plan.localSigma, { rng });
    for (let i = 0; i < q.length; i++) q[i] = (((q[i]! + noise[i]!) % modulus) + modulus) % modulus;
    return q;
  }
  throw new Error('JS conditional rounding failed 100 times');
}

function jsClientPath(x: Float32Array, rotationSeed: Uint8Array, masks: readonly Mask[], plan: DistributedDpPlan, rng: Rng): Uint32Array {
  const clipped = reference.clipByL2(x, 1, 1);
  const rotated = reference.randomizedHadamard(clipped, rotationSeed);
  return jsMasks(jsQuantize(rotated, plan, rng), masks, plan.bits);
}

// ---- Server: one SecAgg+ round driven up to closeUnmasking ----

interface ServerCase {
  name: string;
  dropBeforeMaskedInput: number[];
  dropAfterMaskedInput: number[];
}

/**
 * Runs the round for CLIENTS clients up to the last Unmasking message (messages handed over
 * directly, no wire encoding) and returns the server, ready for closeUnmasking(), and the number
 * of masks closeUnmasking will expand (self masks of the included clients + pairwise masks of the
 * clients dropped before their masked input with their neighbours that sent theirs).
 */
async function prepareRound(inputs: readonly Uint32Array[], spec: ServerCase): Promise<{ server: SecAggServer; masks: number; included: number[] }> {
  const ids = inputs.map((_, i) => `client-${i}`);
  const signingKeys = await Promise.all(ids.map(() => generateSigningKeyPair()));
  const expectedParticipants = ids.map((id, i) => ({ id, signingPublicKey: signingKeys[i]!.publicKey }));
  const server = new SecAggServer({ clients: ids, bits: BITS, length: inputs[0]!.length, threshold: THRESHOLD, neighbours: NEIGHBOURS, expectedParticipants });
  const clients = ids.map((id, i) => new SecAggClient(id, { minParticipants: THRESHOLD, signingKey: signingKeys[i]!, expectedParticipants }));
  const deliver = async (messages: readonly ClientMessage[]) => {
    await Promise.all(messages.map((message) => server.receive(message)));
  };
  const setup = await server.setup();
  await deliver(await Promise.all(clients.map((c) => c.advertiseKeys(setup))));
  const keys = server.closeAdvertiseKeys();
  await deliver(await Promise.all(clients.map((c) => c.shareKeys(keys.get(c.id)!))));
  const shares = server.closeShareKeys();
  const before = new Set(spec.dropBeforeMaskedInput);
  const after = new Set(spec.dropAfterMaskedInput);
  const masking = clients.filter((_, i) => !before.has(i));
  for (const client of masking) await server.receive(await client.maskedInput(shares.get(client.id)!, inputs[ids.indexOf(client.id)]!));
  const checks = server.closeMaskedInput();
  const signing = masking.filter((c) => !after.has(ids.indexOf(c.id)));
  await deliver(await Promise.all(signing.map((c) => c.consistencyCheck(checks.get(c.id)!))));
  const requests = server.closeConsistencyCheck();
  await deliver(await Promise.all(signing.map((c) => c.unmask(requests.get(c.id)!))));
  const graph = new CommunicationGraph(CLIENTS, NEIGHBOURS, setup.graphSeed);
  const pairwise = spec.dropBeforeMaskedInput.reduce((count, u) => count + graph.neighbours(u).filter((v) => !before.has(v)).length, 0);
  const included = inputs.map((_, i) => i).filter((i) => !before.has(i));
  return { server, masks: included.length + pairwise, included };
}

/** Sum of the included inputs mod 2^BITS, in JS: the expected result of every round. */
function plainSum(inputs: readonly Uint32Array[], included: readonly number[]): Uint32Array {
  const sum = new Uint32Array(inputs[0]!.length);
  for (const i of included) for (let j = 0; j < sum.length; j++) sum[j] = (sum[j]! + inputs[i]![j]!) & (2 ** BITS - 1);
  return sum;
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function fmt(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '' : value.toFixed(digits);
}

export async function secaggSuite(): Promise<void> {
  const started = performance.now();
  await ready();
  const plan = planDistributedDp({ clipNorm: 1, dimension: PARAMS, clients: CLIENTS, noiseMultiplier: 1, bits: BITS });
  const padded = rotationLength(PARAMS);
  const rng = createRng();
  console.log(
    `\nplan: clip 1, z 1, ${CLIENTS} clients, ${BITS} bits: scale ${plan.scale.toFixed(1)}, local sigma ${plan.localSigma.toFixed(1)} ` +
      `quantized units, conditional bound ${plan.conditionalBound.toFixed(1)}, padded length ${padded}`,
  );

  // ---- Client ----------------------------------------------------------------------------------
  const x = update(1);
  const rotationSeed = randomSeed();
  const maskSeeds = Array.from({ length: MASKS }, randomSeed);
  // The self mask (+), then 16 pairwise masks, half of them subtracted (neighbours of lower index).
  const masks: Mask[] = maskSeeds.map((seed, i) => ({ seed, subtract: i > 0 && i % 2 === 0 }));
  const clipped = clipByL2(x, 1, 1);
  const rotated = randomizedHadamard(clipped, rotationSeed);
  const quantized = quantize(rotated, quantizeOptions(plan, rng));
  const maskTarget = new Uint32Array(padded);
  // Check before timing: the wasm masks equal the JS ones, and the JS rotation the wasm one.
  if (!sameWords(applyMasks(quantized.slice(), masks, BITS), jsMasks(quantized.slice(), masks, BITS))) {
    throw new Error('applyMasks does not match the JS keystream masks; not timing wrong code');
  }
  const jsRotated = reference.randomizedHadamard(reference.clipByL2(x, 1, 1), rotationSeed);
  if (!rotated.every((v, i) => Math.abs(v - jsRotated[i]!) < 1e-6)) throw new Error('randomizedHadamard does not match the JS reference');

  const floor100k = `floor: ${MASKS} masks' keystream x ${PARAMS.toLocaleString('en')} words`;
  const floorPadded = `floor: ${MASKS} masks' keystream x ${padded.toLocaleString('en')} words`;
  const clientTasks: BenchTask[] = [
    { name: `client path: clip + rotate + quantize + noise + ${MASKS} masks`, kind: 'library', fn: () => clientPath(x, rotationSeed, masks, plan, rng) },
    { name: '  clipByL2 (1 row x 100,000)', kind: 'library', fn: () => clipByL2(x, 1, 1) },
    { name: `  randomizedHadamard (pads to ${padded.toLocaleString('en')})`, kind: 'library', fn: () => randomizedHadamard(clipped, rotationSeed) },
    { name: '  quantize: conditional rounding + discrete Gaussian', kind: 'library', fn: () => quantize(rotated, quantizeOptions(plan, rng)) },
    { name: `  applyMasks: ${MASKS} masks x ${padded.toLocaleString('en')} words`, kind: 'library', fn: () => applyMasks(maskTarget, masks, BITS) },
    { name: floor100k, kind: 'baseline', fn: () => keystreamFloor(maskSeeds, PARAMS) },
    { name: floorPadded, kind: 'baseline', fn: () => keystreamFloor(maskSeeds, padded) },
  ];
  const clientRows: SecAggRow[] = await measure(
    { kernel: 'secagg client', shape: `${PARAMS} params, ${MASKS} masks, ${BITS} bits`, inputBytes: PARAMS * 4, tasks: clientTasks },
    CLIENT_TIMING,
  );
  const referenceTask: BenchTask = {
    name: 'JS reference client path (src/reference + exact CKS20 sampler)',
    kind: 'reference',
    fn: () => jsClientPath(x, rotationSeed, masks, plan, rng),
  };
  clientRows.push(
    ...(await measure({ kernel: 'secagg client', shape: `${PARAMS} params`, inputBytes: PARAMS * 4, tasks: [referenceTask] }, REFERENCE_TIMING)),
  );
  const floorMs = {
    [`${PARAMS}`]: clientRows.find((r) => r.task === floor100k)!.meanMs,
    [`${padded}`]: clientRows.find((r) => r.task === floorPadded)!.meanMs,
  };
  for (const row of clientRows) {
    row.vsFloor = { [`${PARAMS}`]: row.meanMs / floorMs[`${PARAMS}`]!, [`${padded}`]: row.meanMs / floorMs[`${padded}`]! };
  }
  const clientMs = clientRows[0]!.meanMs;
  const jsMs = clientRows.find((r) => r.kind === 'reference')!.meanMs;
  console.log(`\nsecagg client — ${PARAMS.toLocaleString('en')} params, ${NEIGHBOURS} neighbours (${MASKS} masks), ${BITS} bits\n`);
  console.log(
    textTable(
      ['task', 'mean ms', '±%', 'min ms', `x floor ${PARAMS / 1000}k`, `x floor ${padded / 1024}Ki`, 'x JS', 'bg load'],
      clientRows.map((r) => [
        r.task,
        fmt(r.meanMs),
        fmt(r.rmePercent, 1),
        fmt(r.minMs),
        fmt(r.vsFloor![`${PARAMS}`]),
        fmt(r.vsFloor![`${padded}`]),
        r === clientRows[0] || r.kind === 'reference' ? fmt(jsMs / r.meanMs, 1) : '',
        fmt(r.backgroundCores, 1),
      ]),
    ),
  );

  // Per-round protocol cost (no data): signatures, key agreement, HKDF, AES-GCM shares, Shamir, the consistency check; k = 16.
  const protocolRows: Row[] = [];
  for (const [clients, timing] of [
    [CLIENTS, PROTOCOL_TIMING],
    [LARGE_ROUND, LARGE_PROTOCOL_TIMING],
  ] as const) {
    const tiny = Array.from({ length: clients }, () => new Uint32Array(1));
    const task: BenchTask = {
      name: `simulateRound, ${clients} clients x 1 word (JSON wire)`,
      kind: 'library',
      fn: () => simulateRound({ inputs: tiny, bits: BITS, threshold: THRESHOLD, neighbours: NEIGHBOURS }),
    };
    protocolRows.push(...(await measure({ kernel: 'secagg protocol', shape: `${clients} clients, ${NEIGHBOURS} neighbours, 1-word vectors`, inputBytes: 0, tasks: [task] }, timing)));
  }
  const protocolPerClientMs = Object.fromEntries([CLIENTS, LARGE_ROUND].map((clients, i) => [clients, protocolRows[i]!.meanMs / clients]));
  console.log(
    '\nper-round protocol cost (Ed25519 signatures, X25519 + HKDF per neighbour, AES-GCM shares, Shamir, the consistency check; JSON wire), ' +
      `${NEIGHBOURS} neighbours, 1-word vectors, client and server share, all in this thread:`,
  );
  for (const [i, clients] of [CLIENTS, LARGE_ROUND].entries()) {
    const row = protocolRows[i]!;
    console.log(
      `  ${clients} clients: ${fmt(row.meanMs)} ms ± ${fmt(row.rmePercent, 1)}% per round = ${fmt(protocolPerClientMs[clients])} ms per client (bg load ${fmt(row.backgroundCores, 1)})`,
    );
  }

  // ---- Server ----------------------------------------------------------------------------------
  const qRng = createRng();
  const inputs = Array.from({ length: CLIENTS }, (_, i) =>
    quantize(randomizedHadamard(clipByL2(update(100 + i), 1, 1), rotationSeed), quantizeOptions(plan, qRng)),
  );
  const tenth = Array.from({ length: CLIENTS / 10 }, (_, i) => 10 * i + 5);
  const cases: ServerCase[] = [
    { name: 'closeUnmasking, 0% dropout', dropBeforeMaskedInput: [], dropAfterMaskedInput: [] },
    { name: 'closeUnmasking, 10% dropped before masked input', dropBeforeMaskedInput: tenth, dropAfterMaskedInput: [] },
    { name: 'closeUnmasking, 10% dropped after masked input', dropBeforeMaskedInput: [], dropAfterMaskedInput: tenth },
  ];
  const serverTasks: BenchTask[] = [];
  const maskCounts: Record<string, number> = {};
  const timed: Record<string, number[]> = {};
  for (const spec of cases) {
    serverTasks.push({
      name: spec.name,
      kind: 'library',
      fn: async () => {
        const { server, masks: count, included } = await prepareRound(inputs, spec);
        maskCounts[spec.name] = count;
        collectGarbage();
        const t0 = performance.now();
        const result = await server.closeUnmasking();
        const ms = performance.now() - t0;
        (timed[spec.name] ??= []).push(ms);
        if (!sameWords(result.sum, plainSum(inputs, included))) throw new Error(`${spec.name}: wrong sum; not timing wrong code`);
        return { overriddenDuration: ms };
      },
    });
  }
  const plainX = new Float32Array(CLIENTS * PARAMS);
  for (let i = 0; i < CLIENTS; i++) plainX.set(update(100 + i), i * PARAMS);
  serverTasks.push({ name: `plain clipped sum: clipAndSum ${CLIENTS} x ${PARAMS.toLocaleString('en')} float32`, kind: 'baseline', fn: () => clipAndSum(plainX, CLIENTS, 1) });
  const serverRows: SecAggRow[] = await measure(
    { kernel: 'secagg server', shape: `${CLIENTS} clients x ${padded} words, ${NEIGHBOURS} neighbours`, inputBytes: CLIENTS * padded * 4, tasks: serverTasks },
    SERVER_TIMING,
  );
  // The server's keystream floor: the masks it expands, at the padded length.
  const perMaskMs = floorMs[`${padded}`]! / MASKS;
  const plainMs = serverRows.find((r) => r.kind === 'baseline')!.meanMs;
  for (const row of serverRows) {
    const count = maskCounts[row.task];
    if (count !== undefined) {
      row.masks = count;
      row.words = padded;
      row.vsFloor = { [`${padded}`]: row.meanMs / (count * perMaskMs) };
      const samples = timed[row.task]!.slice(-row.samples); // without the warm-up round
      row.samplesMs = samples;
      row.sdMs = Math.sqrt(samples.reduce((s, v) => s + (v - row.meanMs) ** 2, 0) / Math.max(1, samples.length - 1));
      row.maxMs = Math.max(...samples);
    }
    row.vsPlainSum = row.meanMs / plainMs;
  }
  console.log(`\nsecagg server — ${CLIENTS} clients x ${padded.toLocaleString('en')} words, ${NEIGHBOURS} neighbours, ${SERVER_SAMPLES} rounds per case\n`);
  console.log(
    textTable(
      ['task', 'mean ms', 'sd ms', '±%', 'min ms', 'max ms', 'masks', 'x mask floor', 'x plain sum', 'bg load'],
      serverRows.map((r) => [
        r.task,
        fmt(r.meanMs),
        fmt(r.sdMs),
        fmt(r.rmePercent, 1),
        fmt(r.minMs),
        fmt(r.maxMs),
        r.masks === undefined ? '' : String(r.masks),
        fmt(r.vsFloor?.[`${padded}`]),
        fmt(r.vsPlainSum),
        fmt(r.backgroundCores, 1),
      ]),
    ),
  );

  const none = serverRows.find((r) => r.task === cases[0]!.name)!.meanMs;
  const ratios = {
    clientVsFloor100k: clientMs / floorMs[`${PARAMS}`]!,
    clientVsFloorPadded: clientMs / floorMs[`${padded}`]!,
    server10BeforeVs0: serverRows.find((r) => r.task === cases[1]!.name)!.meanMs / none,
    server10AfterVs0: serverRows.find((r) => r.task === cases[2]!.name)!.meanMs / none,
  };
  console.log(
    `\ntargets: client path / ${MASKS}-mask keystream floor = ${fmt(ratios.clientVsFloor100k)}x at ${PARAMS.toLocaleString('en')} words, ` +
      `${fmt(ratios.clientVsFloorPadded)}x at ${padded.toLocaleString('en')} (target <= 1.5x); ` +
      `server 10% dropout / 0%: ${fmt(ratios.server10BeforeVs0)}x before masked input, ${fmt(ratios.server10AfterVs0)}x after (target <= 3x)`,
  );

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, node: process.version };
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/secagg.json');
  mkdirSync(dirname(file), { recursive: true });
  const planSummary = { bits: plan.bits, dimension: plan.dimension, scale: plan.scale, localSigma: plan.localSigma, conditionalBound: plan.conditionalBound };
  writeFileSync(
    file,
    JSON.stringify(
      { date: new Date().toISOString(), machine, params: PARAMS, clients: CLIENTS, neighbours: NEIGHBOURS, plan: planSummary, ratios, protocolPerClientMs, clientRows, protocolRows, serverRows },
      null,
      2,
    ) + '\n',
  );
  console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(
    '"x floor" = mean / the keystream-only time of the masks (ChaCha20 in wasm, nothing added); server "masks" = keystreams expanded by\n' +
      'closeUnmasking (self masks of the included clients + pairwise masks of clients dropped before their input), its floor = masks x\n' +
      `the per-mask floor at ${padded.toLocaleString('en')} words; "bg load" = cores busy with other processes meanwhile (rerun if > 0.3).`,
  );
  console.log(`written ${file}`);
}
