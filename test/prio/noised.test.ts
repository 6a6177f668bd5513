// DP at the aggregators (Prio3Aggregator.share({ noiseSigma }) and unshard(..., { noised: true })):
// each aggregator's share gets exact discrete Gaussian noise; the collector reads the noisy
// aggregate as signed integers. Checked: the noise each share carries has the discrete Gaussian's
// mean 0 and variance (close to sigma^2 for sigma >= 1: CKS20, Cor. 9 bounds it by sigma^2) over
// 2^17 coordinates, at alpha 1e-6; fresh noise per release; the true aggregate is the noisy one
// minus the noise; a noisy negative count decodes as negative (and is refused without `noised`);
// bad options are coded errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { prio3Count, prio3Histogram, prio3SumVec } from 'privkit/prio';

beforeAll(() => ready());

const verifyKey = new Uint8Array(32).fill(1);
const LENGTH = 1 << 17;
const Z = 4.89; // two-sided normal quantile at alpha = 1e-6

describe('Prio3Aggregator.share({ noiseSigma })', () => {
  it('adds discrete Gaussian noise of variance sigma^2 to each element, fresh at each release', () => {
    const vdaf = prio3Histogram({ length: LENGTH, chunkLength: 512 });
    const empty = vdaf.aggregator(); // no reports: the share is all zeros, so it holds the noise alone
    const sigma = 3.5;
    const first = vdaf.unshard([empty.share({ noiseSigma: sigma, rng: createRng({ seed: new Uint8Array(32).fill(2) }) }), vdaf.aggregator().share()], 1, { noised: true });
    const second = vdaf.unshard([empty.share({ noiseSigma: sigma }), vdaf.aggregator().share()], 1, { noised: true });
    for (const noise of [first, second]) {
      expect(noise.every(Number.isInteger)).toBe(true);
      const mean = noise.reduce((s, v) => s + v, 0) / LENGTH;
      const variance = noise.reduce((s, v) => s + v * v, 0) / LENGTH;
      // the discrete Gaussian's variance at sigma = 3.5 equals sigma^2 to within 1e-9 (CKS20, Prop. 5 / Cor. 9)
      expect(Math.abs(mean)).toBeLessThan((Z * sigma) / Math.sqrt(LENGTH));
      // var of x^2 is 2 sigma^4 for a Gaussian: the sample variance's sd is sigma^2 sqrt(2 / n); also sees a 1% error in sigma (2% in variance): 2% of 12.25 = 0.245 > 4.89 x 0.048
      expect(Math.abs(variance - sigma ** 2)).toBeLessThan(Z * sigma ** 2 * Math.sqrt(2 / LENGTH));
    }
    expect(first.some((v, i) => v !== second[i])).toBe(true);
  });

  it('leaves the aggregate recoverable: noisy unshard minus both noises is the exact sum', () => {
    const vdaf = prio3SumVec({ length: 8, bits: 4, chunkLength: 4 });
    const measurements = [
      [1, 2, 3, 4, 5, 6, 7, 8],
      [15, 0, 15, 0, 15, 0, 15, 0],
    ];
    const [leader, helper] = [vdaf.aggregator(), vdaf.aggregator()];
    for (const m of measurements) {
      const r = vdaf.shard(m);
      const common = { verifyKey, nonce: r.nonce, publicShare: r.publicShare };
      const l = vdaf.leaderInit({ ...common, inputShare: r.inputShares[0]! });
      const h = vdaf.helperInit({ ...common, inputShare: r.inputShares[1]!, inbound: l.outbound });
      leader.add(r.nonce, vdaf.leaderContinued(l.state, h.outbound));
      helper.add(r.nonce, h.outShare);
    }
    const seed = (b: number) => createRng({ seed: new Uint8Array(32).fill(b) });
    const noisy = vdaf.unshard([leader.share({ noiseSigma: 20, rng: seed(3) }), helper.share({ noiseSigma: 20, rng: seed(4) })], 2, { noised: true });
    // the same seeds on an empty aggregator give the noise alone
    const noise = vdaf.unshard([vdaf.aggregator().share({ noiseSigma: 20, rng: seed(3) }), vdaf.aggregator().share({ noiseSigma: 20, rng: seed(4) })], 1, { noised: true });
    expect(noisy.map((v, i) => v - noise[i]!)).toEqual(measurements[0]!.map((v, i) => v + measurements[1]![i]!));
    expect(noise.some((v) => v !== 0)).toBe(true);
  });

  it('decodes a noisy negative count only with { noised: true }', () => {
    const vdaf = prio3Count();
    // find a seed whose noise on an empty count is negative
    let shares: Uint8Array[] = [];
    for (let b = 0; b < 64; b++) {
      shares = [vdaf.aggregator().share({ noiseSigma: 5, rng: createRng({ seed: new Uint8Array(32).fill(b) }) }), vdaf.aggregator().share()];
      if (vdaf.unshard(shares, 1, { noised: true }) < 0) break;
    }
    expect(vdaf.unshard(shares, 1, { noised: true })).toBeLessThan(0);
    expect(() => vdaf.unshard(shares, 1)).toThrow(expect.objectContaining({ code: 'E_OVERFLOW' }));
  });

  it('refuses bad options with coded errors', () => {
    const aggregator = prio3Count().aggregator();
    const code = (f: () => unknown) => {
      try {
        f();
        return 'returned';
      } catch (e) {
        return `${(e as { code: string }).code} ${(e as { argument: string }).argument}`;
      }
    };
    expect(code(() => aggregator.share({ noiseSigma: 0 }))).toBe('E_ARG opts.noiseSigma');
    expect(code(() => aggregator.share({ noiseSigma: 0.4 }))).toBe('E_ARG opts.noiseSigma');
    expect(code(() => aggregator.share({ noiseSigma: Number.NaN }))).toBe('E_ARG opts.noiseSigma');
    expect(code(() => aggregator.share({ noiseSigma: 2 ** 25 }))).toBe('E_ARG opts.noiseSigma');
    expect(code(() => aggregator.share({ rng: createRng() }))).toBe('E_ARG opts.rng');
    expect(code(() => aggregator.share({ noiseSigma: 1, rng: {} as never }))).toBe('E_ARG opts.rng');
    expect(code(() => aggregator.share({ sigma: 1 } as never))).toBe('E_ARG opts.sigma');
    expect(code(() => prio3Count().unshard([aggregator.share(), aggregator.share()], 1, { noised: 1 as never }))).toBe('E_ARG opts.noised');
  });
});
