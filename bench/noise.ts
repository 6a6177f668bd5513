// Noise suite of `npm run bench`: ChaCha20 keystream bytes/s vs crypto.getRandomValues, and
// Gaussian / Laplace samples/s for privkit (fast Ziggurat, float64 and float32; secure lattice mode)
// against the JS code people write by hand: Box-Muller / inverse-CDF on Math.random (the naive,
// insecure baseline) and on crypto.getRandomValues; in-place Gaussian noise on a large vector on one
// thread and in a 2-worker pool; the discrete Gaussian (wasm sampler of assembly/dp/discrete.ts against
// the exact CKS20 sampler). Math.random appears here only, as a baseline.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ready } from '../src/index.js';
import { addGaussianNoise, createRng, discreteGaussian, gaussianNoise, laplaceNoise, secureGaussian, secureLaplace } from '../src/dp/index.js';
import { createPool, sharedFloat32Array } from '../src/pool/index.js';
import { measure, textTable, type BenchTask, type Row, type TimingOptions } from './harness.js';

const TIMING: TimingOptions = { time: 1000, iterations: 5, warmupTime: 300, warmupIterations: 2 };
const CHACHA_BYTES = 16 << 20;
const SAMPLES = 1 << 20;
const LARGE_SAMPLES = 16 << 20;
const CRYPTO_CALL_BYTES = 65536; // crypto.getRandomValues' per-call limit

interface NoiseRow extends Row {
  /** Samples (or bytes, for the generator rows) per second. */
  perSecond: number;
  unit: 'samples' | 'bytes';
  /** perSecond / that of the naive Math.random baseline of the same table. */
  vsNaive: number;
}

/** Box-Muller as commonly hand-written: one normal per two Math.random calls. */
function boxMullerMathRandom(n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  return out;
}

/** 53-bit uniforms in [0, 1) from crypto.getRandomValues, filled in 64 KiB calls. */
function cryptoUniforms(n: number): Float64Array {
  const words = new Uint32Array(2 * n);
  for (let i = 0; i < words.length; i += CRYPTO_CALL_BYTES / 4) crypto.getRandomValues(words.subarray(i, i + CRYPTO_CALL_BYTES / 4));
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) u[i] = ((words[2 * i]! >>> 5) * 67108864 + (words[2 * i + 1]! >>> 6)) / 9007199254740992;
  return u;
}

/** Box-Muller on crypto.getRandomValues, using both outputs of each pair. */
function boxMullerCrypto(n: number): Float64Array {
  const u = cryptoUniforms(n + 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - u[i]!));
    const angle = 2 * Math.PI * u[i + 1]!;
    out[i] = radius * Math.cos(angle);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** Textbook Laplace: -b sign(u) ln(1 - 2|u|), u uniform in (-1/2, 1/2). */
function laplaceInverse(uniforms: ArrayLike<number>, n: number, b: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = uniforms[i]! - 0.5;
    out[i] = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }
  return out;
}

function laplaceMathRandom(n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.random() - 0.5;
    out[i] = -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }
  return out;
}

async function table(title: string, count: number, unit: 'samples' | 'bytes', tasks: BenchTask[], naive: string): Promise<NoiseRow[]> {
  const rows = await measure({ kernel: title, shape: `${count} ${unit} per call`, inputBytes: unit === 'bytes' ? count : count * 8, tasks }, TIMING);
  const perSecond = (r: Row) => count / (r.meanMs / 1000);
  const naiveRate = perSecond(rows.find((r) => r.task === naive)!);
  const result = rows.map((r) => ({ ...r, perSecond: perSecond(r), unit, vsNaive: perSecond(r) / naiveRate }));
  const header = ['task', 'mean ms', '±%', unit === 'bytes' ? 'GB/s' : 'M samples/s', `x ${naive}`, 'bg load'];
  const cells = result.map((r) => [
    r.task,
    r.meanMs.toFixed(2),
    r.rmePercent.toFixed(1),
    (r.perSecond / (unit === 'bytes' ? 1e9 : 1e6)).toFixed(unit === 'bytes' ? 2 : 1),
    r.vsNaive.toFixed(2),
    r.backgroundCores.toFixed(1),
  ]);
  console.log(`\n${title} — ${count} ${unit} per call\n`);
  console.log(textTable(header, cells));
  return result;
}

export async function noiseSuite(): Promise<void> {
  const started = performance.now();
  await ready();
  const rng = createRng();
  const rows: NoiseRow[] = [];

  const keystream = new Uint8Array(CHACHA_BYTES);
  rows.push(
    ...(await table('random bytes', CHACHA_BYTES, 'bytes', [
      { name: 'privkit ChaCha20 rng.fill', kind: 'library', fn: () => rng.fill(keystream) },
      {
        name: 'crypto.getRandomValues (64 KiB calls)',
        kind: 'baseline',
        fn: () => {
          for (let i = 0; i < CHACHA_BYTES; i += CRYPTO_CALL_BYTES) crypto.getRandomValues(keystream.subarray(i, i + CRYPTO_CALL_BYTES));
        },
      },
    ], 'crypto.getRandomValues (64 KiB calls)')),
  );

  const zeros = new Float64Array(SAMPLES);
  const x32 = new Float32Array(SAMPLES);
  const naiveGaussian = 'JS Box-Muller on Math.random (naive)';
  rows.push(
    ...(await table('Gaussian noise', SAMPLES, 'samples', [
      { name: 'privkit fast float64', kind: 'library', fn: () => gaussianNoise(SAMPLES, 1, { rng }) },
      { name: 'privkit fast float32', kind: 'library', fn: () => gaussianNoise(SAMPLES, 1, { rng, dtype: 'float32' }) },
      { name: 'privkit addGaussianNoise float32 in place', kind: 'library', fn: () => addGaussianNoise(x32, 1, { rng }) },
      { name: 'privkit secure (lattice)', kind: 'library', fn: () => secureGaussian(zeros, 1, { rng }) },
      { name: naiveGaussian, kind: 'baseline', fn: () => boxMullerMathRandom(SAMPLES) },
      { name: 'JS Box-Muller on crypto.getRandomValues', kind: 'baseline', fn: () => boxMullerCrypto(SAMPLES) },
    ], naiveGaussian)),
  );

  // A DP-SGD-sized vector on shared memory, so the pool's workers add into it in place.
  const large = sharedFloat32Array(LARGE_SAMPLES);
  const pool = await createPool({ threads: 2 });
  try {
    rows.push(
      ...(await table('Gaussian noise, large vector', LARGE_SAMPLES, 'samples', [
        { name: 'privkit addGaussianNoise float32 in place', kind: 'library', fn: () => addGaussianNoise(large, 1, { rng }) },
        { name: 'pool 2 workers addGaussianNoise float32 (shared)', kind: 'library', fn: () => pool.addGaussianNoise(large, 1) },
        { name: naiveGaussian, kind: 'baseline', fn: () => boxMullerMathRandom(LARGE_SAMPLES) },
      ], naiveGaussian)),
    );
  } finally {
    await pool.close();
  }

  const naiveLaplace = 'JS inverse CDF on Math.random (naive)';
  rows.push(
    ...(await table('Laplace noise', SAMPLES, 'samples', [
      { name: 'privkit fast float64', kind: 'library', fn: () => laplaceNoise(SAMPLES, 1, { rng }) },
      { name: 'privkit fast float32', kind: 'library', fn: () => laplaceNoise(SAMPLES, 1, { rng, dtype: 'float32' }) },
      { name: 'privkit secure (lattice)', kind: 'library', fn: () => secureLaplace(zeros, 1, { rng }) },
      { name: naiveLaplace, kind: 'baseline', fn: () => laplaceMathRandom(SAMPLES) },
      { name: 'JS inverse CDF on crypto.getRandomValues', kind: 'baseline', fn: () => laplaceInverse(cryptoUniforms(SAMPLES), SAMPLES, 1) },
    ], naiveLaplace)),
  );

  // sigma 0.3 (most proposals go to the exact acceptance test), 4, 100 and 6201.8 (the secagg bench's local noise)
  const exactDiscrete = 'privkit discreteGaussian exact (CKS20), sigma 4';
  rows.push(
    ...(await table('discrete Gaussian noise', SAMPLES, 'samples', [
      ...[0.3, 4, 100, 6201.8].map((sigma): BenchTask => ({
        name: `privkit discreteGaussian wasm, sigma ${sigma}`,
        kind: 'library',
        fn: () => discreteGaussian(SAMPLES, sigma, { rng, method: 'wasm' }),
      })),
      { name: exactDiscrete, kind: 'library', fn: () => discreteGaussian(SAMPLES, 4, { rng }) },
    ], exactDiscrete)),
  );

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, node: process.version };
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/noise.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2) + '\n');
  console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log('"x ..." = rate / the table\'s baseline (the naive Math.random one; exact CKS20 for the discrete Gaussian); "bg load" = cores busy with other processes meanwhile.');
  console.log(`written ${file}`);
}
