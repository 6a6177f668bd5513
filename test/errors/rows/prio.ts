// Sweep rows of privkit/prio: the variant constructors, every Prio3 method (on a Histogram of 4
// buckets and the other variants' shard), the ping-pong steps and the streaming aggregator. Reports
// are sharded with a fixed nonce and randomness, so a call and its variants give the same bytes.
import * as pr from 'privkit/prio';
import { arrayOf, bool, fn, instance, int, num, obj, opaque, rngField, typed, type Row, type SweepRow } from '../sweep-harness.js';
import { createRng } from 'privkit/dp';

const entry = 'privkit/prio';

const constants: SweepRow[] = ['VERIFY_KEY_SIZE', 'NONCE_SIZE', 'MAX_CTX_LENGTH', 'MAX_MEASUREMENT_LENGTH', 'MAX_SUM_MAX', 'PRIO3_BOUNDED_L2_ID', 'MAX_BOUNDED_L2_BITS', 'CHECKSUM_SIZE', 'PRIO3_PINE_L2_ID', 'PINE_ALPHA', 'PINE_WRAPAROUND_CHECKS', 'MAX_PINE_LENGTH'].map((name) => ({ entry, export: name, constant: true }));

const shares = int(2, 255, { optional: true });
const constructors: Row[] = [
  { entry, export: 'prio3Count', params: [{ name: 'opts', domain: obj({ shares }, { optional: true }) }], args: () => [{ shares: 2 }], call: ([o]) => pr.prio3Count(o), observe: (v: pr.Prio3<unknown, unknown>) => v.randSize },
  { entry, export: 'prio3HigherDegree', params: [{ name: 'opts', domain: obj({ shares }, { optional: true }) }], args: () => [{ shares: 3 }], call: ([o]) => pr.prio3HigherDegree(o), observe: (v: pr.Prio3<unknown, unknown>) => v.randSize },
  {
    entry,
    export: 'prio3Sum',
    params: [{ name: 'opts', domain: obj({ max: int(1, pr.MAX_SUM_MAX), shares }) }],
    args: () => [{ max: 255 }],
    call: ([o]) => pr.prio3Sum(o),
    observe: (v: pr.Prio3<unknown, unknown>) => v.proofLength,
  },
  {
    entry,
    export: 'prio3SumVec',
    params: [{ name: 'opts', domain: obj({ length: int(1, 2 ** 22), bits: int(1, 53), chunkLength: int(1, 80, { optional: true }), shares }) }],
    args: () => [{ length: 10, bits: 8, chunkLength: 9 }],
    call: ([o]) => pr.prio3SumVec(o),
    observe: (v: pr.Prio3<unknown, unknown>) => v.proofLength,
    aliases: { 'opts.bits': ['max'] },
  },
  {
    entry,
    export: 'prio3SumVecWithMultiproof',
    params: [{ name: 'opts', domain: obj({ length: int(1, 2 ** 22), max: int(1, pr.MAX_SUM_MAX), chunkLength: int(1, 80, { optional: true }), proofs: int(3, 255), shares }) }],
    args: () => [{ length: 10, max: 255, chunkLength: 9, proofs: 3 }],
    call: ([o]) => pr.prio3SumVecWithMultiproof(o),
    observe: (v: pr.Prio3<unknown, unknown>) => [v.proofs, v.proofLength],
  },
  {
    entry,
    export: 'prio3Histogram',
    params: [{ name: 'opts', domain: obj({ length: int(1, 2 ** 22), chunkLength: int(1, 4, { optional: true }), shares }) }],
    args: () => [{ length: 4, chunkLength: 2 }],
    call: ([o]) => pr.prio3Histogram(o),
    observe: (v: pr.Prio3<unknown, unknown>) => v.proofLength,
  },
  {
    entry,
    export: 'prio3MultihotCountVec',
    params: [{ name: 'opts', domain: obj({ length: int(1, 2 ** 22 - 64), maxWeight: int(1, 4), chunkLength: int(1, 7, { optional: true }), shares }) }],
    args: () => [{ length: 4, maxWeight: 2, chunkLength: 2 }],
    call: ([o]) => pr.prio3MultihotCountVec(o),
    observe: (v: pr.Prio3<unknown, unknown>) => v.proofLength,
  },
  {
    entry,
    export: 'prio3BoundedL2VecSum',
    params: [
      {
        name: 'opts',
        domain: obj({ length: int(1, 2 ** 22), bits: int(2, 32), bound: int(1, Number.MAX_SAFE_INTEGER), chunkLength: int(1, 80, { optional: true }), normChunkLength: int(1, 10, { optional: true }), shares }),
      },
    ],
    args: () => [{ length: 10, bits: 8, bound: 1000, chunkLength: 9, normChunkLength: 3 }],
    call: ([o]) => pr.prio3BoundedL2VecSum(o),
    observe: (v: pr.Prio3<unknown, unknown>) => v.proofLength,
  },
  {
    entry,
    export: 'prio3PineL2VecSum',
    params: [
      {
        name: 'opts',
        // bound 1000: 10 norm bits and 100 tests of 10 bits (W = 512), 1,010 bits to check
        domain: obj({ length: int(1, 2 ** 21), bound: int(1, Number.MAX_SAFE_INTEGER), proofs: int(3, 255, { optional: true }), chunkLength: int(1, 1010, { optional: true }), normChunkLength: int(1, 10, { optional: true }), shares }),
      },
    ],
    args: () => [{ length: 10, bound: 1000, proofs: 3, chunkLength: 9, normChunkLength: 3 }],
    call: ([o]) => pr.prio3PineL2VecSum(o),
    observe: (v: pr.Prio3<unknown, unknown>) => v.proofLength,
  },
];

const histogram = pr.prio3Histogram({ length: 4, chunkLength: 2 });
const verifyKey = (): Uint8Array => new Uint8Array(32).fill(5);
const fixedNonce = (): Uint8Array => new Uint8Array(16).fill(3);
const rand = (vdaf: pr.Prio3<unknown, unknown>): Uint8Array => new Uint8Array(vdaf.randSize).fill(9);
const report = (): pr.Prio3Report => histogram.shard(2, { nonce: fixedNonce(), rand: rand(histogram as pr.Prio3<unknown, unknown>) });
const initOf = (aggregatorId: number): pr.Prio3VerifyInit => {
  const r = report();
  return histogram.verifyInit({ verifyKey: verifyKey(), aggregatorId, nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[aggregatorId]! });
};
const message = (): Uint8Array => histogram.verifierSharesToMessage([initOf(0).verifierShare, initOf(1).verifierShare]);
const outShare = (aggregatorId: number): Uint8Array => histogram.verifyNext(initOf(aggregatorId).state, message());

/** Aggregator j with the fixed report's output share added. */
const aggregatorWith = (j: number): pr.Prio3Aggregator => {
  const aggregator = histogram.aggregator();
  aggregator.add(fixedNonce(), outShare(j));
  return aggregator;
};
const shardOptions = () =>
  obj({ ctx: typed('Uint8Array', { optional: true }), nonce: typed('Uint8Array', { optional: true }), rand: typed('Uint8Array', { optional: true }), rng: rngField() }, { optional: true });

/** The shard row of one variant: its measurement domain and a valid measurement. */
function shardRow(label: string, vdaf: pr.Prio3<any, unknown>, measurement: unknown, domain: ReturnType<typeof int>): Row {
  return {
    entry,
    export: 'Prio3',
    label: `Prio3#shard (${label})`,
    params: [{ name: 'measurement', domain }, { name: 'opts', domain: shardOptions() }],
    args: () => [measurement, { ctx: new Uint8Array([1, 2]), nonce: fixedNonce(), rand: rand(vdaf) }],
    call: ([m, o]) => vdaf.shard(m, o),
    notApplicable: {
      'opts.nonce=missing': 'a fresh random nonce: another report',
      'opts.rand=missing': 'fresh randomness: another report',
      'opts=undefined': 'no options: a random report (nonce and randomness from the CSPRNG)',
      'opts=null': 'no options: a random report (nonce and randomness from the CSPRNG)',
      'opts=empty': 'no options: a random report (nonce and randomness from the CSPRNG)',
    },
    knownGaps: {},
  };
}

const methods: Row[] = [
  shardRow('Count', pr.prio3Count() as pr.Prio3<any, unknown>, 1, int(0, 1)),
  shardRow('Sum', pr.prio3Sum({ max: 100 }) as pr.Prio3<any, unknown>, 42, int(0, 100)),
  shardRow('SumVec', pr.prio3SumVec({ length: 3, bits: 4 }) as pr.Prio3<any, unknown>, [1, 15, 0], arrayOf(int(0, 15))),
  // bound 3 x 8^2: every vector of the coordinate domain is within it
  shardRow('BoundedL2VecSum', pr.prio3BoundedL2VecSum({ length: 3, bits: 4, bound: 192 }) as pr.Prio3<any, unknown>, [-8, 7, 0], arrayOf(int(-8, 7))),
  // bound 3 x 8^2: every vector of the coordinate domain is within it
  shardRow('PineL2VecSum', pr.prio3PineL2VecSum({ length: 3, bound: 192 }) as pr.Prio3<any, unknown>, [-8, 7, 0], arrayOf(int(-8, 8))),
  shardRow('Histogram', histogram as pr.Prio3<any, unknown>, 2, int(0, 3)),
  shardRow('MultihotCountVec', pr.prio3MultihotCountVec({ length: 3, maxWeight: 2 }) as pr.Prio3<any, unknown>, [true, false, true], arrayOf(bool())),
  {
    entry,
    export: 'Prio3',
    label: 'Prio3#verifyInit',
    params: [
      {
        name: 'input',
        domain: obj({
          verifyKey: typed('Uint8Array'),
          aggregatorId: int(0, 1),
          nonce: typed('Uint8Array'),
          publicShare: typed('Uint8Array'),
          inputShare: typed('Uint8Array'),
          ctx: typed('Uint8Array', { optional: true }),
        }),
      },
    ],
    args: () => {
      const r = report();
      return [{ verifyKey: verifyKey(), aggregatorId: 1, nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[1]!, ctx: new Uint8Array(0) }];
    },
    call: ([input]) => histogram.verifyInit(input),
    observe: (init: pr.Prio3VerifyInit) => init.verifierShare,
    notApplicable: { 'input.aggregatorId=0': "the leader's share is another length (E_ARG inputShare)" },
  },
  {
    entry,
    export: 'Prio3',
    label: 'Prio3#verifierSharesToMessage',
    params: [{ name: 'verifierShares', domain: arrayOf(typed('Uint8Array')) }, { name: 'opts', domain: obj({ ctx: typed('Uint8Array', { optional: true }) }, { optional: true }) }],
    args: () => [[initOf(0).verifierShare, initOf(1).verifierShare], {}],
    call: ([shares, o]) => histogram.verifierSharesToMessage(shares, o),
    aliases: { verifierShares: ['verifierShares[0]', 'verifierShares[1]'] },
  },
  {
    entry,
    export: 'Prio3',
    label: 'Prio3#verifyNext',
    params: [{ name: 'state', domain: opaque('a verification state made by verifyInit of this VDAF (E_ARG otherwise)') }, { name: 'verifierMessage', domain: typed('Uint8Array') }],
    args: () => [initOf(0).state, message()],
    call: ([state, m]) => histogram.verifyNext(state, m),
  },
  {
    entry,
    export: 'Prio3',
    label: 'Prio3#unshard',
    params: [{ name: 'aggShares', domain: arrayOf(typed('Uint8Array')) }, { name: 'numMeasurements', domain: int(1) }, { name: 'opts', domain: obj({ noised: bool({ optional: true }) }, { optional: true }) }],
    args: () => [[outShare(0), outShare(1)], 1, { noised: false }],
    call: ([shares, n, o]) => histogram.unshard(shares, n, o),
    aliases: { aggShares: ['aggShares[0]', 'aggShares[1]'] },
  },
  {
    entry,
    export: 'Prio3',
    label: 'Prio3#unshardChecked',
    params: [
      { name: 'aggShares', domain: arrayOf(obj({ share: typed('Uint8Array'), count: int(1), checksum: typed('Uint8Array') })) },
      { name: 'opts', domain: obj({ noised: bool({ optional: true }) }, { optional: true }) },
    ],
    args: () => [[0, 1].map((j) => aggregatorWith(j).aggregateShare()), { noised: false }],
    call: ([shares, o]) => histogram.unshardChecked(shares, o),
    aliases: { aggShares: ['aggShares[0]', 'aggShares[1]'] },
  },
  {
    entry,
    export: 'Prio3Aggregator',
    label: 'Prio3Aggregator#aggregateShare',
    setup: () => aggregatorWith(1),
    params: [
      {
        name: 'opts',
        domain: obj({ noiseSigma: num({ min: 0.5, max: 2 ** 24, optional: true }), rng: rngField(), peer: obj({ count: int(0), checksum: typed('Uint8Array') }, { optional: true }) }, { optional: true }),
      },
    ],
    args: () => {
      const leader = aggregatorWith(0);
      return [{ noiseSigma: 2, rng: createRng({ seed: new Uint8Array(32).fill(8) }), peer: { count: leader.count, checksum: leader.checksum } }];
    },
    call: ([o], aggregator: pr.Prio3Aggregator) => aggregator.aggregateShare(o).share,
    notApplicable: { 'opts.noiseSigma=missing': 'no noise: then opts.rng is refused (E_ARG opts.rng), a documented dependency' },
  },
  { entry, export: 'Prio3', label: 'Prio3#aggregator', params: [], args: () => [], call: () => histogram.aggregator(), observe: (a: pr.Prio3Aggregator) => a.share() },
  {
    entry,
    export: 'Prio3Aggregator',
    label: 'Prio3Aggregator#share',
    params: [{ name: 'opts', domain: obj({ noiseSigma: num({ min: 0.5, max: 2 ** 24, optional: true }), rng: rngField() }, { optional: true }) }],
    args: () => [{ noiseSigma: 2, rng: createRng({ seed: new Uint8Array(32).fill(8) }) }],
    call: ([o]) => histogram.aggregator().share(o),
    notApplicable: { 'opts.noiseSigma=missing': 'no noise: then opts.rng is refused (E_ARG opts.rng), a documented dependency' },
  },
  {
    entry,
    export: 'Prio3',
    label: 'Prio3#leaderInit',
    params: [{ name: 'input', domain: obj({ verifyKey: typed('Uint8Array'), nonce: typed('Uint8Array'), publicShare: typed('Uint8Array'), inputShare: typed('Uint8Array'), ctx: typed('Uint8Array', { optional: true }) }) }],
    args: () => {
      const r = report();
      return [{ verifyKey: verifyKey(), nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[0]! }];
    },
    call: ([input]) => histogram.leaderInit(input),
    observe: (out: { outbound: Uint8Array }) => out.outbound,
  },
  {
    entry,
    export: 'Prio3',
    label: 'Prio3#helperInit',
    params: [
      {
        name: 'input',
        domain: obj({
          verifyKey: typed('Uint8Array'),
          nonce: typed('Uint8Array'),
          publicShare: typed('Uint8Array'),
          inputShare: typed('Uint8Array'),
          ctx: typed('Uint8Array', { optional: true }),
          inbound: typed('Uint8Array'),
        }),
      },
    ],
    args: () => {
      const r = report();
      const leader = histogram.leaderInit({ verifyKey: verifyKey(), nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[0]! });
      return [{ verifyKey: verifyKey(), nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[1]!, inbound: leader.outbound }];
    },
    call: ([input]) => histogram.helperInit(input),
  },
  {
    entry,
    export: 'Prio3',
    label: 'Prio3#leaderContinued',
    setup: () => {
      const r = report();
      const leader = histogram.leaderInit({ verifyKey: verifyKey(), nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[0]! });
      const helper = histogram.helperInit({ verifyKey: verifyKey(), nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[1]!, inbound: leader.outbound });
      return { state: leader.state, inbound: helper.outbound };
    },
    params: [{ name: 'state', domain: opaque('a verification state made by leaderInit of this VDAF (E_ARG otherwise)') }, { name: 'inbound', domain: typed('Uint8Array') }],
    args: (c: { state: pr.Prio3VerifyState; inbound: Uint8Array }) => [c.state, c.inbound],
    call: ([state, inbound]) => histogram.leaderContinued(state, inbound),
  },
  {
    entry,
    export: 'Prio3Aggregator',
    label: 'Prio3Aggregator#add',
    setup: () => histogram.aggregator(),
    params: [{ name: 'nonce', domain: typed('Uint8Array') }, { name: 'outShare', domain: typed('Uint8Array') }],
    args: () => [fixedNonce(), outShare(1)],
    call: ([n, s], aggregator: pr.Prio3Aggregator) => {
      aggregator.add(n, s);
      return aggregator.share();
    },
  },
  {
    entry,
    export: 'Prio3Aggregator',
    label: 'Prio3Aggregator#share',
    setup: () => histogram.aggregator(),
    params: [],
    args: () => [],
    call: (_, aggregator: pr.Prio3Aggregator) => aggregator.share(),
  },
];

/** The batch functions' options: pool, ctx and the call options (the steps add verifyKey). */
const batchFields = { pool: instance('Pool', { optional: true }), ctx: typed('Uint8Array', { optional: true }), signal: instance('AbortSignal', { optional: true }), onProgress: fn({ optional: true }) };
const vdafParam = { name: 'vdaf', domain: opaque('a VDAF made by a privkit/prio factory (E_ARG otherwise)') };
const reportFields = { nonce: typed('Uint8Array'), publicShare: typed('Uint8Array'), inputShare: typed('Uint8Array') };
const statuses = (settled: PromiseSettledResult<{ outbound: Uint8Array }>[]) => settled.map((r) => (r.status === 'fulfilled' ? r.value.outbound : r.status));

const batches: Row[] = [
  {
    entry,
    export: 'shardReports',
    params: [vdafParam, { name: 'measurements', domain: arrayOf(int(0, 3)) }, { name: 'opts', domain: obj(batchFields, { optional: true }) }],
    args: () => [histogram, [0, 3, 1], { ctx: new Uint8Array([1]), signal: new AbortController().signal, onProgress: () => undefined }],
    call: ([vdaf, measurements, o]) => pr.shardReports(vdaf, measurements, o),
    observe: (reports: pr.Prio3Report[]) => reports.length,
  },
  {
    entry,
    export: 'leaderInitReports',
    params: [vdafParam, { name: 'reports', domain: arrayOf(obj(reportFields)) }, { name: 'opts', domain: obj({ verifyKey: typed('Uint8Array'), ...batchFields }) }],
    args: () => {
      const r = report();
      return [histogram, [{ nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[0]! }], { verifyKey: verifyKey(), ctx: new Uint8Array(0) }];
    },
    call: ([vdaf, reports, o]) => pr.leaderInitReports(vdaf, reports, o),
    observe: statuses,
  },
  {
    entry,
    export: 'helperInitReports',
    params: [vdafParam, { name: 'reports', domain: arrayOf(obj({ ...reportFields, inbound: typed('Uint8Array') })) }, { name: 'opts', domain: obj({ verifyKey: typed('Uint8Array'), ...batchFields }) }],
    args: () => {
      const r = report();
      const leader = histogram.leaderInit({ verifyKey: verifyKey(), nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[0]! });
      return [histogram, [{ nonce: r.nonce, publicShare: r.publicShare, inputShare: r.inputShares[1]!, inbound: leader.outbound }], { verifyKey: verifyKey() }];
    },
    call: ([vdaf, reports, o]) => pr.helperInitReports(vdaf, reports, o),
    observe: statuses,
  },
];

export const prioRows: SweepRow[] = [...constants, ...constructors, ...methods, ...batches];
