// `npm start`: one DP-FedAvg aggregation round (user-level central DP, McMahan et al. 2018) on
// synthetic data. Client updates are generated deterministically in batches into shared memory,
// each update is clipped to an L2 bound and the batch summed by the worker pool (pool.clipAndSum),
// the partial sums are accumulated, Gaussian noise of standard deviation noiseMultiplier x clip is
// added to the sum with the secure (lattice) sampler, and the noisy sum is divided by the number of
// clients. The RDP and PLD accountants state the round's (epsilon, delta). While the pool works on
// one batch, the main thread generates the next one into a second buffer, so at most two batches
// are held at once.
import { parseArgs } from 'node:util';
import { RdpAccountant, PldAccountant } from 'privkit/accounting';
import { secureGaussian } from 'privkit/dp';
import { clipAndSum, ready, type ClipAndSumResult } from 'privkit';
import { createPool, sharedFloat32Array } from 'privkit/pool';
import { ProgressBar } from './progress.js';

const HELP = `Usage: npm start -- [options]

Simulates one DP-FedAvg aggregation round: every client's update is clipped to an L2 norm bound,
the clipped updates are summed in batches by a worker pool, Gaussian noise (secure lattice sampler)
is added to the sum, and the noisy sum is averaged. Reports the round's user-level (epsilon, delta).
Synthetic, deterministic client data; the noise comes from the CSPRNG.

Options:
  --clients N            number of clients (default 1000)
  --params N             parameters per client update, float32 (default 100000)
  --threads N            pool worker threads (default: number of cores)
  --batch N              clients per batch (default: 100, fewer for very large updates)
  --clip C               L2 clip bound (default 1.0)
  --noise-multiplier Z   noise standard deviation / clip bound (default 1.0)
  --delta D              delta of the reported (epsilon, delta) (default 1e-5)
  --help                 show this help
`;

/** Largest batch buffer in float32 values (64 MiB): batches shrink for very large updates. */
const MAX_BATCH_FLOATS = 1 << 24;
/** The pooled result of the first batch must match the sync wasm result to this relative error. */
const TOLERANCE = 1e-5;

interface Config {
  clients: number;
  params: number;
  threads: number | undefined;
  batch: number;
  clip: number;
  noiseMultiplier: number;
  delta: number;
}

function parseConfig(argv: string[]): Config | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string' },
      params: { type: 'string' },
      threads: { type: 'string' },
      batch: { type: 'string' },
      clip: { type: 'string' },
      'noise-multiplier': { type: 'string' },
      delta: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return undefined;
  const integer = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return n;
  };
  const params = integer('params', values.params, 100_000);
  const positive = (name: string, text: string | undefined, fallback: number, below = Infinity): number => {
    if (text === undefined) return fallback;
    const v = Number(text);
    if (!(Number.isFinite(v) && v > 0 && v < below)) throw new Error(`--${name} must be a number in (0, ${below}), got "${text}"`);
    return v;
  };
  const clip = positive('clip', values.clip, 1);
  return {
    clients: integer('clients', values.clients, 1000),
    params,
    threads: values.threads === undefined ? undefined : integer('threads', values.threads, 1),
    batch: integer('batch', values.batch, Math.max(1, Math.min(100, Math.floor(MAX_BATCH_FLOATS / params)))),
    clip,
    noiseMultiplier: positive('noise-multiplier', values['noise-multiplier'], 1),
    delta: positive('delta', values.delta, 1e-5, 1),
  };
}

/**
 * Synthetic client updates (data values only; this is not privacy randomness): client i sends
 * scale_i * (direction + own noise), where `direction` is shared by all clients and scale_i makes the
 * update's L2 norm about a_i * clip with a_i spread evenly over [0.25, 1.75], so about half the
 * clients exceed the bound. Each client has its own seed, so results do not depend on the batch size.
 */
class SyntheticClients {
  readonly direction: Float32Array;

  constructor(
    private readonly params: number,
    private readonly clip: number,
  ) {
    this.direction = new Float32Array(params);
    const next = xorshift32(mix(0x5eed));
    for (let j = 0; j < params; j++) this.direction[j] = 2 * next() - 1;
  }

  /** Writes the updates of clients [first, first + count) as rows of `out`. */
  fill(out: Float32Array, first: number, count: number): void {
    const { params, direction } = this;
    const rms = Math.sqrt((2 * params) / 3); // E|direction + noise|^2 = params * (1/3 + 1/3)
    for (let c = 0; c < count; c++) {
      const client = first + c;
      const a = 0.25 + 1.5 * ((client * 0.6180339887498949) % 1);
      const scale = (a * this.clip) / rms;
      let s = mix(client + 1);
      const row = out.subarray(c * params, (c + 1) * params);
      for (let j = 0; j < params; j++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        row[j] = scale * (direction[j]! + ((s >>> 0) / 2147483648 - 1));
      }
    }
  }
}

function xorshift32(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** A well-spread non-zero 32-bit seed from an integer (murmur3 finalizer). */
function mix(n: number): number {
  let h = Math.imul(n ^ (n >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0 || 0x9e3779b9;
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = Number.MIN_VALUE;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) diff = d;
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return a.length === b.length ? diff / scale : Number.POSITIVE_INFINITY;
}

function l2(x: ArrayLike<number>): number {
  let sq = 0;
  for (let j = 0; j < x.length; j++) sq += x[j]! * x[j]!;
  return Math.sqrt(sq);
}

async function main(): Promise<void> {
  let config: Config | undefined;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (config === undefined) {
    process.stdout.write(HELP);
    return;
  }
  const { clients, params, batch, clip } = config;
  const clientsData = new SyntheticClients(params, clip);
  await ready();
  const pool = await createPool(config.threads === undefined ? {} : { threads: config.threads });
  try {
    // Two batch buffers in shared memory: the pool reads one (zero-copy) while the next is generated.
    const buffers = [sharedFloat32Array(batch * params), sharedFloat32Array(batch * params)];
    const total = new Float64Array(params); // the running sum of clipped updates, in float64
    let clippedCount = 0;
    let normSum = 0;
    let generateMs = 0;
    let waitMs = 0;
    let firstBatch: ClipAndSumResult | undefined;
    const progress = new ProgressBar(clients, { label: 'aggregating', unit: 'clients' });
    progress.update(0);

    const started = performance.now();
    const launch = (first: number, buffer: Float32Array) => {
      const count = Math.min(batch, clients - first);
      const x = buffer.subarray(0, count * params);
      return pool.clipAndSum(x, count, clip).then((result) => ({ result, count }));
    };
    const generate = (first: number, buffer: Float32Array) => {
      const t0 = performance.now();
      clientsData.fill(buffer, first, Math.min(batch, clients - first));
      generateMs += performance.now() - t0;
    };
    generate(0, buffers[0]!);
    let inFlight = launch(0, buffers[0]!);
    for (let first = 0, b = 0; first < clients; first += batch, b ^= 1) {
      const nextFirst = first + batch;
      // Generate the next batch into the other buffer while the pool works on this one.
      if (nextFirst < clients) generate(nextFirst, buffers[b ^ 1]!);
      const waitStart = performance.now();
      const { result, count } = await inFlight;
      waitMs += performance.now() - waitStart;
      if (nextFirst < clients) inFlight = launch(nextFirst, buffers[b ^ 1]!);
      firstBatch ??= result;
      clippedCount += result.clippedCount;
      for (const norm of result.norms) normSum += norm;
      for (let j = 0; j < params; j++) total[j] += result.sum[j]!;
      const done = first + count;
      const seconds = (performance.now() - started) / 1000;
      progress.update(done, `${(done / seconds).toFixed(0)} clients/s`);
    }
    // Central DP: N(0, (noiseMultiplier * clip)^2) on the sum, released on the secure lattice.
    const sigma = config.noiseMultiplier * clip;
    const noisy = secureGaussian(total, sigma);
    // What one client can move the release by: its clipped float32 row (norm <= clip (1 + 5u) + sqrt(d) 2^-149),
    // twice the float32 rounding of a batch's sum of B rows (Higham 2002, eq. 4.4: B gamma_B per sum), twice the
    // float64 rounding of the sum of the batch sums, and the lattice's rounding of d coordinates (r sqrt(d)).
    const gamma = (n: number, u: number) => (n * u) / (1 - n * u);
    const rowBound = clip * (1 + 5 * 2 ** -24) + Math.sqrt(params) * 2 ** -149;
    const batches = Math.ceil(clients / config.batch);
    const charged =
      rowBound * (1 + 2 * config.batch * gamma(config.batch, 2 ** -24)) +
      2 * batches * gamma(batches, 2 ** -53) * clients * rowBound +
      noisy.resolution * Math.sqrt(params);
    const accountedMultiplier = sigma / charged;
    const wallSeconds = (performance.now() - started) / 1000;
    progress.finish();
    const meanUpdate = Float32Array.from(total, (v) => v / clients);
    const noisyMean = Float32Array.from(noisy.values, (v) => v / clients);
    // Every client takes part in this round (sample rate 1): a Gaussian mechanism of sensitivity `charged`.
    const event = { noiseMultiplier: accountedMultiplier, sampleRate: 1 };
    const rdp = new RdpAccountant().step(event).getEpsilon(config.delta);
    const pld = new PldAccountant().step(event).getEpsilon(config.delta);

    // Check: the pooled first batch equals the sync wasm clipAndSum of the same (regenerated) batch.
    const firstCount = Math.min(batch, clients);
    const check = buffers[0]!.subarray(0, firstCount * params);
    clientsData.fill(check, 0, firstCount);
    const sync = clipAndSum(check, firstCount, clip);
    const sumError = maxRelativeError(firstBatch!.sum, sync.sum);
    const normError = maxRelativeError(firstBatch!.norms, sync.norms);
    const checkPassed = sumError <= TOLERANCE && normError <= TOLERANCE && firstBatch!.clippedCount === sync.clippedCount;

    const gigabytes = (clients * params * 4) / 1e9;
    const lines = [
      '',
      'DP-FedAvg aggregation round (synthetic client data, central DP at the aggregator)',
      `  clients              ${clients} (batches of ${batch})`,
      `  parameters           ${params} float32 per update (${gigabytes.toFixed(2)} GB in total)`,
      `  clip bound (L2)      ${clip}`,
      `  clipped              ${clippedCount} of ${clients} updates (${((100 * clippedCount) / clients).toFixed(1)}%)`,
      `  mean update norm     ${(normSum / clients).toFixed(4)} before clipping; norm of the averaged update ${l2(meanUpdate).toFixed(4)}`,
      `  noise                Gaussian, sigma ${sigma} on the sum (noise multiplier ${config.noiseMultiplier}; ${accountedMultiplier.toFixed(4)} against the sensitivity with float and lattice rounding), secure lattice` +
        ` resolution ${noisy.resolution.toExponential(3)}; norm of the noisy average ${l2(noisyMean).toFixed(4)}`,
      `  privacy              epsilon ${rdp.epsilon.toFixed(3)} at delta ${config.delta} for this round, user level` +
        ` (RDP, best order ${rdp.order}); PLD: ${pld.epsilon.toFixed(3)}`,
      `  threads              ${pool.threads} pool worker${pool.threads === 1 ? '' : 's'}`,
      `  wall time            ${wallSeconds.toFixed(2)} s: generating data ${(generateMs / 1000).toFixed(2)} s (main thread, overlapped` +
        ` with the pool), waiting for the pool ${(waitMs / 1000).toFixed(2)} s`,
      `  throughput           ${(clients / wallSeconds).toFixed(0)} clients/s, ${(gigabytes / wallSeconds).toFixed(2)} GB/s of updates end to end`,
      `  check                pool vs sync wasm on batch 1: sum max rel. diff ${sumError.toExponential(1)},` +
        ` norms ${normError.toExponential(1)}, clipped ${firstBatch!.clippedCount}/${sync.clippedCount}` +
        ` (tolerance ${TOLERANCE.toExponential(0)}): ${checkPassed ? 'OK' : 'MISMATCH'}`,
    ];
    console.log(lines.join('\n'));
    if (!checkPassed) process.exitCode = 1;
  } finally {
    await pool.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
