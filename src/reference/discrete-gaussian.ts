// Plain-TypeScript reference of the wasm discrete Gaussian sampler (assembly/dp/discrete.ts,
// discreteGaussianFill) as a function of its keystream: one value at a time, the same arithmetic
// and the same draws in the same order. Per batch of m <= 512 values the kernel reads a block of
// 5 m bytes (m little-endian 32-bit Ziggurat words, then m acceptance bytes); a value whose first
// attempt is not decided by the block (the fast path's bounds below) draws 64 bits for the rest of
// its uniform and acceptance word, then wedges, tails, tie uniforms and restarts, in value order.
// The oracle of the SIMD batch: any lane that decides differently shows as a different value.
import { PrivkitError } from '../errors.js';
import { checkNumber } from '../validate-arrays.js';
import { checkedSource, type KeystreamSource } from './source.js';

export type { KeystreamSource } from './source.js';

/** sigma of the sampler: as the wasm kernel's, 0 < sigma <= 2^24. */
const checkSigma = (sigma: unknown): number => checkNumber('sigma', sigma, { above: 0, max: 2 ** 24 });

const BATCH = 512;
/** Most values of one reference call (as the samplers' 2^28). */
const MAX_VALUES = 2 ** 28;
const TWO_M53 = 2 ** -53;
const TWO_30 = 2 ** 30;
const LOW_30 = 2 ** 30 - 1;
const SLACK = 2 ** -40;
const INT32_MAX = 2 ** 31 - 1;

// The normal Ziggurat of assembly/dp/ziggurat.ts: 256 layers of area V, X[0] = V / f(R), X[256] = 0.
const NORMAL_R = 3.6541528853610088;
const NORMAL_V = 0.0049286732339746553;
const X = new Float64Array(257);
const F = new Float64Array(257);
{
  let x = NORMAL_R;
  X[0] = NORMAL_V / Math.exp(-0.5 * x * x);
  for (let i = 1; i < 256; i++) {
    X[i] = x;
    F[i] = Math.exp(-0.5 * x * x);
    if (i < 255) x = Math.sqrt(-2 * Math.log(NORMAL_V / x + Math.exp(-0.5 * x * x)));
  }
  X[256] = 0;
  F[256] = 1;
}
const X53 = X.map((v) => v * TWO_M53);

// 16-point Gauss-Legendre rule on [-1, 1] (8 symmetric pairs), by Newton's method on P_16.
const GL_X = new Float64Array(8);
const GL_W = new Float64Array(8);
for (let i = 0; i < 8; i++) {
  let x = Math.cos((Math.PI * (i + 0.75)) / 16.5);
  let derivative = 0;
  for (let iteration = 0; iteration < 8; iteration++) {
    let p0 = 1;
    let p1 = x;
    for (let k = 2; k <= 16; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
    derivative = (16 * (x * p1 - p0)) / (x * x - 1);
    x -= p1 / derivative;
  }
  GL_X[i] = x;
  GL_W[i] = 2 / ((1 - x * x) * derivative * derivative);
}

/** Round half to even (wasm f64.nearest). */
function nearest(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The sampler's state for one kernel call: sigma's constants and the generator's reads. */
class Sampler {
  private readonly c: number;
  private readonly massZero: number;
  private readonly safe: number;
  private readonly spread: Float64Array;
  private spare: number[] = [];

  constructor(
    private readonly sigma: number,
    private readonly source: KeystreamSource,
  ) {
    this.c = 0.5 / (sigma * sigma);
    this.massZero = massAtZero(this.c);
    this.safe = squeezeSafe(this.c);
    this.spread = X53.map((c, i) => sigma * LOW_30 * c * (1 + SLACK) + (sigma * X[i]! + 1) * SLACK);
  }

  /** The next 64 keystream bits as [low 32, high 32]. */
  private u64(): [number, number] {
    const view = new DataView(this.source.bytes(8).buffer);
    return [view.getUint32(0, true), view.getUint32(4, true)];
  }

  /** 16 bits from a 64-bit draw shared by four acceptance tests (fresh attempts). */
  private word16(): number {
    if (this.spare.length === 0) {
      const [low, high] = this.u64();
      this.spare = [low & 0xffff, low >>> 16, high & 0xffff, high >>> 16];
    }
    return this.spare.shift()!;
  }

  /** The value of a batch whose block gave the Ziggurat word z and the acceptance byte h. */
  fromBlock(z: number, h: number): number {
    const layer = z & 0xff;
    const negative = (z >>> 8) & 1;
    const x = (z >>> 9) * (X53[layer]! * TWO_30);
    const y = this.sigma * x;
    const m = nearest(y);
    const inner = X[layer + 1]! - LOW_30 * X53[layer]! * (1 + SLACK) - X[layer]! * SLACK;
    if (x < inner && y + this.spread[layer]! < m + 0.5 && m <= this.safe && h !== 0xff) return negative ? -m : m;
    // the rest of the first attempt: 30 more bits of u and the acceptance word's low byte
    const [low, high] = this.u64();
    let full = ((z >>> 9) * TWO_30 + (low & 0x3fffffff)) * X53[layer]!;
    if (full >= X[layer + 1]!) full = this.magnitudeRare(layer, full);
    const k = nearest(this.sigma * full);
    if (this.accepts(k, (h << 8) | (((low >>> 30) | (high << 2)) & 0xff))) return negative ? -k : k;
    return this.fresh();
  }

  /** Attempts from the generator alone until one is accepted. */
  private fresh(): number {
    for (;;) {
      const [low, high] = this.u64();
      const layer = low & 0xff;
      let x = (high * 2 ** 21 + (low >>> 11)) * X53[layer]!;
      if (x >= X[layer + 1]!) x = this.magnitudeRare(layer, x);
      const k = nearest(this.sigma * ((low >>> 8) & 1 ? -x : x));
      if (k === 0) return 0;
      if (this.accepts(Math.abs(k), this.word16())) return k;
    }
  }

  /** A normal magnitude whose attempt at `layer` fell outside the inner box at x: wedge, tail or a fresh magnitude. */
  private magnitudeRare(layer: number, x: number): number {
    for (;;) {
      const v = this.wedgeOrTail(layer, x);
      if (!Number.isNaN(v)) return v;
      const [low, high] = this.u64();
      layer = low & 0xff;
      x = (high * 2 ** 21 + (low >>> 11)) * X53[layer]!;
      if (x < X[layer + 1]!) return x;
    }
  }

  /** The tail beyond R (Marsaglia 1964) for layer 0, else x if the wedge test accepts it, else NaN. */
  private wedgeOrTail(layer: number, x: number): number {
    if (layer === 0) {
      for (;;) {
        const a = -Math.log(this.source.uniform()) / NORMAL_R;
        const b = -Math.log(this.source.uniform());
        if (b + b >= a * a) return NORMAL_R + a;
      }
    }
    const [low, high] = this.u64();
    const y = F[layer]! + (high * 2 ** 21 + (low >>> 11)) * TWO_M53 * (F[layer + 1]! - F[layer]!);
    return y < Math.exp(-0.5 * x * x) ? x : NaN;
  }

  /** u < R(m) for u = (word + U) 2^-16: the squeeze, else the exact test with a tie uniform U. */
  private accepts(m: number, word: number): boolean {
    if (m === 0) return true;
    if (m > INT32_MAX) return false;
    const ck = this.c * m;
    if ((word + 1) * 2 ** -16 <= 1 - 0.5 * ck * ck) return true;
    const t = this.acceptance(m) * 2 ** 16;
    const whole = Math.floor(t);
    if (word !== whole) return word < whole;
    return this.source.uniform() < t - whole;
  }

  /** R(m) = g(0) / g(m) = g(0) exp(-c (m - 1/4)) / h((2m - 1) c, c). */
  acceptance(m: number): number {
    return (this.massZero * Math.exp(-this.c * (m - 0.25))) / edgeIntegral((m + m - 1) * this.c, this.c);
  }
}

/** g(0) = integral over |t| <= 1/2 of exp(-c t^2) dt (the erf series with positive terms). */
function massAtZero(c: number): number {
  if (c >= 144) return Math.sqrt(Math.PI / c);
  let term = 1;
  let sum = 1;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (0.5 * c) / (2 * n + 1);
    sum += term;
  }
  return Math.exp(-0.25 * c) * sum;
}

/** h(b, c) = integral over [0, 1] of exp(-b s - c s^2) ds by composite Gauss-Legendre (assembly/dp/discrete.ts). */
function edgeIntegral(b: number, c: number): number {
  const length = b > 40 ? 40 / b : 1;
  const panels = Math.max(1, Math.ceil(((b + 2 * c * length) * length) / 6));
  const half = (0.5 * length) / panels;
  let total = 0;
  for (let p = 0; p < panels; p++) {
    const mid = (2 * p + 1) * half;
    for (let i = 0; i < 8; i++) {
      const lo = mid - half * GL_X[i]!;
      const hi = mid + half * GL_X[i]!;
      total += GL_W[i]! * (Math.exp(-lo * (b + c * lo)) + Math.exp(-hi * (b + c * hi)));
    }
  }
  return total * half;
}

/** The largest m <= 2^31 - 1 whose squeeze passes every acceptance word with top byte below 0xff. */
function squeezeSafe(c: number): number {
  const top = 65280 * 2 ** -16;
  const passes = (m: number) => top <= 1 - 0.5 * (c * m) * (c * m);
  if (passes(INT32_MAX)) return INT32_MAX;
  let lo = 0;
  let hi = INT32_MAX;
  while (hi - lo > 1) {
    const mid = Math.floor(0.5 * (lo + hi));
    if (passes(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The sampler of one kernel call for sigma (0 < sigma <= 2^24) reading `source`: maps the Ziggurat
 * word z and acceptance byte h of a value's block to its sample, drawing what else it needs from
 * `source`. Call it in value order, after reading the batch's block.
 */
export function discreteGaussianBlockSampler(sigma: number, source: KeystreamSource): (z: number, h: number) => number {
  const sampler = new Sampler(checkSigma(sigma), checkedSource(source));
  return (z, h) => sampler.fromBlock(checkNumber('z', z, { integer: true, min: 0, max: 2 ** 32 - 1 }), checkNumber('h', h, { integer: true, min: 0, max: 255 }));
}

/** n samples as one discreteGaussianFill call draws them: per batch, a block of 5 m bytes, then the values in order. */
export function discreteGaussianFromKeystream(n: number, sigma: number, source: KeystreamSource): Int32Array {
  const count = checkNumber('n', n, { integer: true, min: 0, max: MAX_VALUES });
  const checked = checkedSource(source);
  const sample = discreteGaussianBlockSampler(sigma, checked);
  const out = new Int32Array(count);
  for (let start = 0; start < count; start += BATCH) {
    const m = Math.min(BATCH, count - start);
    const block = checked.bytes(5 * m);
    const words = new DataView(block.buffer, block.byteOffset, 4 * m);
    for (let j = 0; j < m; j++) out[start + j] = sample(words.getUint32(4 * j, true), block[4 * m + j]!);
  }
  return out;
}

/** R(k) = g(0) / g(k), the sampler's acceptance probability of the proposal k (k != 0). */
export function discreteGaussianAcceptance(sigma: number, k: number): number {
  const s = checkSigma(sigma);
  const m = checkNumber('k', k, { integer: true });
  if (m === 0) throw new PrivkitError('E_ARG', 'k must be a non-zero integer (the acceptance of 0 is 1)', { argument: 'k' });
  return new Sampler(s, { bytes: () => new Uint8Array(0), uniform: () => 0 }).acceptance(Math.abs(m));
}
