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
import { helperInitReports, leaderInitReports, prio3Count, prio3Histogram, prio3Sum, prio3SumVec, shardReports } from 'privkit/prio';
import { expectPrivkitError } from '../support/helpers.js';

beforeAll(() => ready());

const verifyKey = new Uint8Array(32).fill(1);
const LENGTH = 1 << 17;
const Z = 4.89; // two-sided normal quantile at alpha = 1e-6

describe('Prio3Aggregator.share({ noiseSigma })', () => {
  it('adds discrete Gaussian noise of variance sigma^2 to each element, fresh for each aggregator', () => {
    const vdaf = prio3Histogram({ length: LENGTH, chunkLength: 512 });
    // no reports: the share is all zeros, so it holds the noise alone
    const sigma = 3.5;
    const first = vdaf.unshard([vdaf.aggregator().share({ noiseSigma: sigma, rng: createRng({ seed: new Uint8Array(32).fill(2) }) }), vdaf.aggregator().share()], 1, { noised: true });
    const second = vdaf.unshard([vdaf.aggregator().share({ noiseSigma: sigma }), vdaf.aggregator().share()], 1, { noised: true });
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

describe('one noised release per aggregator (attacker review)', () => {
  it('a repeated share({ noiseSigma }) returns the same bytes: averaging k copies no longer shrinks the noise', () => {
    // The attack: each call used to draw fresh noise, so the mean of k releases of one sum had noise
    // sigma / sqrt(k), k releases charged as one. Now the noise is drawn once per aggregator.
    const vdaf = prio3Histogram({ length: 4096, chunkLength: 64 });
    const aggregator = vdaf.aggregator();
    const copies = Array.from({ length: 16 }, () => aggregator.share({ noiseSigma: 3 }));
    for (const copy of copies) expect(copy).toEqual(copies[0]);
    const noise = vdaf.unshard([copies[0]!, vdaf.aggregator().share()], 1, { noised: true });
    const variance = noise.reduce((s, v) => s + v * v, 0) / noise.length;
    // sigma^2 = 9, not 9 / 16: the sample variance of 4096 draws is within 4.89 x 9 sqrt(2 / 4096)
    expect(Math.abs(variance - 9)).toBeLessThan(Z * 9 * Math.sqrt(2 / 4096));
    copies[0]![0]! ^= 1; // the returned bytes are a copy: the kept share is not the caller's
    expect(aggregator.share({ noiseSigma: 3 })).toEqual(copies[1]);
  });

  it('after a noised share: another sigma, the exact share and add() are E_PROTOCOL; a noised share after an exact one too', () => {
    const vdaf = prio3Count();
    const report = vdaf.shard(1);
    const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
    const leaderInit = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
    const outShare = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leaderInit.outbound }).outShare;
    const noised = vdaf.aggregator();
    noised.share({ noiseSigma: 2 });
    expectPrivkitError(() => noised.share({ noiseSigma: 2.5 }), 'E_PROTOCOL', 'opts.noiseSigma');
    expectPrivkitError(() => noised.share(), 'E_PROTOCOL', 'opts.noiseSigma');
    expectPrivkitError(() => noised.add(report.nonce, outShare), 'E_PROTOCOL', 'outShare');
    const exact = vdaf.aggregator();
    exact.add(report.nonce, outShare);
    expect(exact.share()).toEqual(exact.share()); // exact shares carry no noise: repeating them is harmless
    expectPrivkitError(() => exact.share({ noiseSigma: 2 }), 'E_PROTOCOL', 'opts.noiseSigma');
  });
});

describe('noised decoding near p/2 (attacker review)', () => {
  it('Sum in Field64: 2,048 valid reports of max 2^53 - 1 wrap past p; the noised reading is refused, not a small positive number', async () => {
    // 2048 (2^53 - 1) = 2^64 - 2048 = p + 2^32 - 2049: read centred it used to come out as 4,294,965,247 plus noise.
    const max = Number.MAX_SAFE_INTEGER;
    const vdaf = prio3Sum({ max });
    const reports = await shardReports(vdaf, new Array<number>(2048).fill(max));
    const led = await leaderInitReports(vdaf, reports.map((r) => ({ ...r, inputShare: r.inputShares[0]! })), { verifyKey });
    const fulfilled = led.map((l) => (l.status === 'fulfilled' ? l.value : expect.fail('an honest report was refused')));
    const helped = await helperInitReports(vdaf, reports.map((r, i) => ({ ...r, inputShare: r.inputShares[1]!, inbound: fulfilled[i]!.outbound })), { verifyKey });
    const [leader, helper] = [vdaf.aggregator(), vdaf.aggregator()];
    reports.forEach((r, i) => {
      const h = helped[i]!.status === 'fulfilled' ? helped[i]!.value : expect.fail('an honest report was refused');
      leader.add(r.nonce, vdaf.leaderContinued(fulfilled[i]!.state, h.outbound));
      helper.add(r.nonce, h.outShare);
    });
    const shares = [leader.share({ noiseSigma: 4 }), helper.share({ noiseSigma: 4 })];
    expectPrivkitError(() => vdaf.unshard(shares, 2048, { noised: true }), 'E_OVERFLOW', 'numMeasurements');
    // the limit: count max < (p - 1)/2 - 2^53 = 2^63 - 2^53 - 2^31, i.e. 1022 reports of 2^53 - 1 still decode, 1023 do not
    expect(() => vdaf.unshard([vdaf.aggregator().share({ noiseSigma: 4 }), vdaf.aggregator().share()], 1022, { noised: true })).not.toThrow();
    expectPrivkitError(() => vdaf.unshard([vdaf.aggregator().share({ noiseSigma: 4 }), vdaf.aggregator().share()], 1023, { noised: true }), 'E_OVERFLOW', 'numMeasurements');
  });
});
