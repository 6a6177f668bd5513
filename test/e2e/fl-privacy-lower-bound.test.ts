// The epsilon FedAvg reports holds for what its observer sees: checked against an independent lower
// bound for one concrete pair of neighbouring datasets, computed here without privkit's accountants.
//
// The pair: every client's clipped update is -C e1 (a linear loss whose gradient is clipped), except
// that dataset D has one client whose update is +C e1 where D' has another -C e1 client. Clients are
// sampled m of n without replacement, so the participant count is the same public m in both. On D'
// each round's sum is exactly -m C e1 plus the noise; on D it is that plus 2C e1 with probability
// q = m / n. Projected on e1 (post-processing), each round is P = (1-q) N(0, s^2) + q N(1, s^2) against
// Q = N(0, s^2), s = z C / (2C) = z / 2, and the rounds compose as product measures. So any epsilon that
// is valid at delta must satisfy H_{e^eps}(P^T || Q^T) <= delta. We lower-bound that hockey stick by
// rounding every round's privacy loss down onto a grid (which can only lower E_P[(1 - e^{eps - sum L})_+]),
// dropping the far upper tail (likewise), composing the T rounds by FFT, and subtracting an allowance
// for the FFT's rounding.
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { RdpAccountant } from 'privkit/accounting';
import { FedAvg, createModel, type Dataset } from 'privkit/fl';

/** Radix-2 complex FFT in place (sign -1 forward, +1 inverse, unnormalized). */
function fft(re: Float64Array, im: Float64Array, sign: 1 | -1): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (sign * 2 * Math.PI) / len;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = start + k;
        const b = a + len / 2;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

/** Standard normal CDF in double precision: the erf Taylor series for |x| / sqrt 2 < 2, the erfc continued fraction beyond. */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  let erfc: number;
  if (z < 2) {
    // erf(z) = 2 / sqrt(pi) sum (-1)^n z^(2n+1) / (n! (2n+1))
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
    }
    erfc = 1 - (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(z) = e^{-z^2} / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))), by Lentz's method
    let f = z;
    let c = z;
    let d = 0;
    for (let k = 1; k < 500; k++) {
      const a = k / 2;
      d = z + a * d;
      d = 1 / d;
      c = z + a / c;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    erfc = Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  }
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * A lower bound on the smallest epsilon valid at delta for T rounds of P = (1-q) N(0, s^2) + q N(1, s^2)
 * against Q = N(0, s^2).
 */
function epsilonLowerBound(q: number, s: number, rounds: number, delta: number, h = 2e-3): number {
  // One round's loss L(x) = log(1 - q + q e^{(2x - 1) / (2 s^2)}) is increasing in x; under P the mass of
  // [L_j, L_{j+1}) is P(x in [x_j, x_{j+1})) with x_j = L^{-1}(j h). Losses are >= log(1 - q).
  const lossInverse = (l: number) => {
    const excess = Math.exp(l) - (1 - q);
    return excess > 0 ? s * s * Math.log(excess / q) + 0.5 : Number.NEGATIVE_INFINITY;
  };
  const cdfP = (x: number) => (x === Number.NEGATIVE_INFINITY ? 0 : (1 - q) * normalCdf(x / s) + q * normalCdf((x - 1) / s));
  // Below log(1 - q) there is no loss; for q = 1, losses below where P has mass 1e-14 delta are dropped.
  let lowest = Math.floor(Math.log1p(-q) / h);
  if (!Number.isFinite(lowest)) {
    lowest = 0;
    while (cdfP(lossInverse(lowest * h)) > 1e-14 * delta) lowest -= 64;
  }
  // Keep losses up to where P's upper tail is below 1e-14 of delta (dropped mass only lowers the bound).
  let highest = lowest + 1;
  while (1 - cdfP(lossInverse((highest + 1) * h)) > 1e-14 * delta) highest++;
  const bins = highest - lowest + 1;
  const size = 1 << Math.ceil(Math.log2(bins * rounds + 1));
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let j = 0; j < bins; j++) {
    const lo = (lowest + j) * h;
    const left = cdfP(lossInverse(lo));
    const right = cdfP(lossInverse(lo + h));
    re[j] = Math.max(0, right - left); // mass of [lo, lo + h), placed at lo: rounded down
  }
  fft(re, im, -1);
  for (let k = 0; k < size; k++) {
    const r = Math.hypot(re[k]!, im[k]!) ** rounds;
    const theta = Math.atan2(im[k]!, re[k]!) * rounds;
    re[k] = r * Math.cos(theta);
    im[k] = r * Math.sin(theta);
  }
  fft(re, im, 1);
  // The composed loss sits at (rounds * lowest + i) h with mass re[i] / size; FFT rounding is below ~1e-15 per bin.
  const mass = Float64Array.from(re, (v) => v / size);
  const allowance = size * 1e-15;
  const deltaAt = (eps: number) => {
    let sum = 0;
    for (let i = 0; i < size; i++) {
      const x = (rounds * lowest + i) * h;
      if (x > eps) sum += mass[i]! * -Math.expm1(eps - x);
    }
    return sum - allowance;
  };
  // The largest eps whose delta lower bound still exceeds delta: every valid epsilon is above it.
  let lo = 0;
  let hi = rounds * (highest + 1) * h;
  if (!(deltaAt(lo) > delta)) return 0;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (deltaAt(mid) > delta) lo = mid;
    else hi = mid;
  }
  return lo;
}

const delta = 1e-5;

describe('the federated epsilon against an independent lower bound', () => {
  it('the lower bound brackets a mechanism whose privacy is known exactly: T Gaussians of sigma s', () => {
    // q = 1: T rounds of N(1, s^2) vs N(0, s^2) are one Gaussian with sensitivity sqrt(T); its exact epsilon
    // solves Phi(mu/2 - eps/mu) - e^eps Phi(-mu/2 - eps/mu) = delta, mu = sqrt(T) / s.
    const s = 4;
    const rounds = 16;
    const mu = Math.sqrt(rounds) / s;
    const exactDelta = (eps: number) => normalCdf(mu / 2 - eps / mu) - Math.exp(eps) * normalCdf(-mu / 2 - eps / mu);
    let lo = 0;
    let hi = 20;
    for (let i = 0; i < 80; i++) {
      const mid = (lo + hi) / 2;
      if (exactDelta(mid) > delta) lo = mid;
      else hi = mid;
    }
    const bound = epsilonLowerBound(1, s, rounds, delta);
    expect(bound).toBeLessThanOrEqual(lo);
    expect(bound).toBeGreaterThan(lo - 0.05);
  });

  it('Poisson accounting with a public count understated epsilon: z = 1.796 was reported as 3, the pair needs more than 8', () => {
    const z = 1.796;
    const poisson = new RdpAccountant().step({ noiseMultiplier: z, sampleRate: 0.1, steps: 100 }).getEpsilon(delta).epsilon;
    expect(poisson).toBeLessThan(3.01);
    const lower = epsilonLowerBound(0.1, z / 2, 100, delta);
    expect(lower).toBeGreaterThan(8);
    // The sound accounting (fixed-size samples, replace-one) is above the lower bound.
    const sound = new RdpAccountant()
      .step({ noiseMultiplier: z, sampleRate: 0.1, steps: 100, sampling: 'without-replacement', neighbours: 'replace-one' })
      .getEpsilon(delta).epsilon;
    expect(sound).toBeGreaterThanOrEqual(lower);
  });

  it('FedAvg calibrated to epsilon 3 (1,000 clients, 100 per round, 100 rounds) reports an epsilon above the bound', async () => {
    await ready();
    const model = createModel({ type: 'softmax-regression' });
    const client: Dataset = { images: new Float32Array(784).fill(0.5), labels: new Uint8Array([3]) };
    const fedavg = new FedAvg({
      model,
      clients: Array.from({ length: 1000 }, () => client),
      rounds: 100,
      clientsPerRound: 100,
      local: { epochs: 1, batchSize: 1, learningRate: 0.1 },
      clipNorm: 0.1,
      targetEpsilon: 3,
      delta,
      seed: new Uint8Array(32).fill(7),
    });
    for (let r = 0; r < 100; r++) await fedavg.runRound();
    expect(fedavg.epsilon).toBeLessThanOrEqual(3);
    const lower = epsilonLowerBound(0.1, fedavg.noiseMultiplier / 2, 100, delta);
    expect(fedavg.epsilon).toBeGreaterThanOrEqual(lower);
    // The bound is not vacuous: the accounting is within 30% of it.
    expect(lower).toBeGreaterThan(fedavg.epsilon * 0.7);
  }, 60_000);
});
