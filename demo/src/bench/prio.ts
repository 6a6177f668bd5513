// The Prio3 family: a client sharding one report and the two aggregators verifying it (leader init,
// helper init with the leader's message, leader finish: the ping-pong of draft-irtf-cfrg-vdaf-20),
// privkit (wasm field arithmetic and TurboSHAKE128) against @divviup/prio3 0.8 (draft 08, BigInt
// fields) on the same circuits: Prio3SumVec (length 1,000, 8 bits, chunks of 100; length 100 in
// quick mode) and Prio3Histogram (100 buckets, chunks of 10). Every row's check runs the whole
// round trip once and unshards the aggregate back to the client's measurement. Then privkit alone
// (no JS implementation has the circuits): the norm-bounded FL update of privkit/fl's PrioAggregator
// (100,000 parameters at 16 bits; 10,000 in quick mode) under both its circuits, Prio3PineL2VecSum
// (PINE, the default) and Prio3BoundedL2VecSum (circuit 'bits'), sharded by a client and verified by
// each aggregator.
import { Buffer } from 'buffer';
import { Prio3Histogram, Prio3SumVec } from '@divviup/prio3';
import { createRng } from 'privkit/dp';
import { PrioAggregator } from 'privkit/fl';
import { prio3Histogram, prio3SumVec, type Prio3, type Prio3Report } from 'privkit/prio';
import { bytes, count, lcg, type BenchContext, type Family, type Group, type Task } from './family';

const VERIFY_KEY = new Uint8Array(32).fill(7);

/** The parts of @divviup/prio3's Prio3 (one class per circuit) that the rows call. */
interface Divviup {
  randSize: number;
  verifyKeySize: number;
  shard(measurement: unknown, nonce: Buffer, rand: Buffer): Promise<{ publicShare: unknown; inputShares: unknown[] }>;
  prepareInit(verifyKey: Buffer, aggregatorId: number, param: null, nonce: Buffer, publicShare: unknown, inputShare: unknown): Promise<{ preparationState: unknown; preparationShare: unknown }>;
  unshardPreparationShares(param: null, shares: unknown[]): Promise<unknown>;
  prepareNext(state: unknown, message: unknown): { outputShare?: unknown };
  aggregate(param: null, outputShares: unknown[]): unknown;
  unshard(param: null, aggregatorShares: unknown[], count: number): unknown;
}

interface Circuit {
  /** Group id prefix. */
  id: string;
  shape: string;
  ours: Prio3<unknown, unknown>;
  theirs: Divviup;
  measurement: unknown;
  /** The aggregate of one report of `measurement` (the vector itself; the histogram's one-hot counts). */
  aggregate: unknown;
  /** privkit's factory call, as the rows' setup shows it. */
  setup: string;
}

function circuits(ctx: BenchContext): Circuit[] {
  const length = ctx.mode === 'quick' ? 100 : 1000;
  const next = lcg(1);
  const vector = Array.from({ length }, () => Math.floor(next() * 256));
  return [
    {
      id: 'sumvec',
      shape: `a vector of ${length.toLocaleString('en-US')} 8-bit integers, proof in chunks of 100 (Field128, 2 aggregators)`,
      ours: prio3SumVec({ length, bits: 8, chunkLength: 100 }) as Prio3<unknown, unknown>,
      theirs: new Prio3SumVec({ shares: 2, length, bits: 8, chunkLength: 100 }) as unknown as Divviup,
      measurement: vector,
      aggregate: vector,
      setup: `import { prio3SumVec } from 'privkit/prio';\nimport { Prio3SumVec } from '@divviup/prio3';\nconst vdaf = prio3SumVec({ length: ${length}, bits: 8, chunkLength: 100 });\nconst theirs = new Prio3SumVec({ shares: 2, length: ${length}, bits: 8, chunkLength: 100 });`,
    },
    {
      id: 'histogram',
      shape: 'one bucket index of 100, proof in chunks of 10 (Field128, 2 aggregators)',
      ours: prio3Histogram({ length: 100, chunkLength: 10 }) as Prio3<unknown, unknown>,
      theirs: new Prio3Histogram({ shares: 2, length: 100, chunkLength: 10 }) as unknown as Divviup,
      measurement: 42,
      aggregate: Array.from({ length: 100 }, (_, i) => (i === 42 ? 1 : 0)),
      setup: "import { prio3Histogram } from 'privkit/prio';\nimport { Prio3Histogram } from '@divviup/prio3';\nconst vdaf = prio3Histogram({ length: 100, chunkLength: 10 });\nconst theirs = new Prio3Histogram({ shares: 2, length: 100, chunkLength: 10 });",
    },
  ];
}

/** privkit's ping-pong verification of one report; returns both aggregators' output shares. */
function verifyOurs(vdaf: Prio3<unknown, unknown>, report: Prio3Report): Uint8Array[] {
  const common = { verifyKey: VERIFY_KEY, nonce: report.nonce, publicShare: report.publicShare };
  const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
  const helper = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
  return [vdaf.leaderContinued(leader.state, helper.outbound), helper.outShare];
}

/** @divviup/prio3's verification of one report by both aggregators; returns their output shares. */
async function verifyTheirs(vdaf: Divviup, nonce: Buffer, report: { publicShare: unknown; inputShares: unknown[] }): Promise<unknown[]> {
  const verifyKey = Buffer.from(VERIFY_KEY.subarray(0, vdaf.verifyKeySize));
  const inits = await Promise.all([0, 1].map((j) => vdaf.prepareInit(verifyKey, j, null, nonce, report.publicShare, report.inputShares[j])));
  const message = await vdaf.unshardPreparationShares(null, inits.map((i) => i.preparationShare));
  return inits.map((init) => {
    const out = vdaf.prepareNext(init.preparationState, message);
    if (out.outputShare === undefined) throw new Error('@divviup/prio3 did not finish verification');
    return out.outputShare;
  });
}

const same = (a: unknown, b: unknown) => JSON.stringify(a, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) === JSON.stringify(b);
const recovered = (result: unknown, c: Circuit) => (same(result, c.aggregate) ? "verified; unshards to the measurement's aggregate" : 'WRONG: the aggregate differs from the measurement');

/** The aggregate of one report, unsharded, by privkit. */
function roundTripOurs(c: Circuit, report: Prio3Report): unknown {
  const outShares = verifyOurs(c.ours, report);
  const aggShares = outShares.map((share) => {
    const aggregator = c.ours.aggregator();
    aggregator.add(report.nonce, share);
    return aggregator.share();
  });
  return c.ours.unshard(aggShares, 1);
}

async function roundTripTheirs(c: Circuit, nonce: Buffer, rand: Buffer): Promise<unknown> {
  const report = await c.theirs.shard(c.measurement, nonce, rand);
  const outShares = await verifyTheirs(c.theirs, nonce, report);
  return c.theirs.unshard(null, outShares.map((share) => c.theirs.aggregate(null, [share])), 1);
}

function shardGroup(c: Circuit): Group {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
  const rand = Buffer.from(crypto.getRandomValues(new Uint8Array(c.theirs.randSize)));
  return {
    shape: c.shape,
    setup: c.setup,
    rate: { unit: 'reports/s', perCall: 1, scale: 1 },
    baseline: 'divviup',
    tasks: [
      { id: 'privkit', label: 'privkit (wasm)', kind: 'privkit', code: 'vdaf.shard(measurement)', run: () => c.ours.shard(c.measurement), check: () => recovered(roundTripOurs(c, c.ours.shard(c.measurement)), c) },
      {
        id: 'divviup',
        label: '@divviup/prio3 (BigInt)',
        kind: 'baseline',
        code: 'await theirs.shard(measurement, nonce, rand)',
        run: () => c.theirs.shard(c.measurement, nonce, rand),
        check: async () => recovered(await roundTripTheirs(c, nonce, rand), c),
      },
    ],
  };
}

async function verifyGroup(c: Circuit): Promise<Group> {
  const ours = c.ours.shard(c.measurement);
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
  const rand = Buffer.from(crypto.getRandomValues(new Uint8Array(c.theirs.randSize)));
  const theirs = await c.theirs.shard(c.measurement, nonce, rand);
  return {
    shape: `${c.shape}; both aggregators' work on one report`,
    setup: `${c.setup}\nconst report = vdaf.shard(measurement);`,
    rate: { unit: 'reports/s', perCall: 1, scale: 1 },
    baseline: 'divviup',
    tasks: [
      {
        id: 'privkit',
        label: 'privkit (wasm), ping-pong',
        kind: 'privkit',
        code: 'vdaf.leaderContinued(leader.state, vdaf.helperInit({ ...report, inbound: vdaf.leaderInit(report).outbound }).outbound)',
        run: () => verifyOurs(c.ours, ours),
        check: () => recovered(roundTripOurs(c, ours), c),
      },
      {
        id: 'divviup',
        label: '@divviup/prio3 (BigInt)',
        kind: 'baseline',
        code: 'prepareInit x 2, unshardPreparationShares, prepareNext x 2',
        run: () => verifyTheirs(c.theirs, nonce, theirs),
        check: async () => recovered(await roundTripTheirs(c, nonce, rand), c),
      },
    ],
  };
}

/** The norm-bounded FL update: PrioAggregator with `circuit`, one update of norm just below the clip norm, and its report. */
function boundedL2(ctx: BenchContext, circuit: 'pine' | 'bits') {
  const dimension = ctx.mode === 'quick' ? 10_000 : 100_000;
  const rng = createRng({ seed: new Uint8Array(32).fill(1) });
  const aggregator = new PrioAggregator({ dimension, clipNorm: 1, bits: 16, noiseMultiplier: 1, circuit, rng });
  const next = lcg(2);
  const update = Float32Array.from({ length: dimension }, () => next() - 0.5);
  const norm = Math.sqrt(update.reduce((s, v) => s + v * v, 0));
  for (let i = 0; i < dimension; i++) update[i] = (update[i]! * 0.999) / norm;
  const report = aggregator.clientReport(update);
  const reportBytes = report.nonce.length + report.publicShare.length + report.inputShares.reduce((s, share) => s + share.length, 0);
  const shape =
    `a float32 update of ${count(dimension)} parameters, clip norm 1, 16-bit fixed point, proven squared norm <= ${count(aggregator.bound)} ` +
    `(${aggregator.vdaf.name}, ${aggregator.vdaf.circuit.field.name}, ${aggregator.vdaf.proofs} proof(s), 2 aggregators); report ${bytes(reportBytes)}, ` +
    `${(reportBytes / (4 * dimension)).toFixed(1)}x the float32 update, ${(reportBytes / (2 * dimension)).toFixed(1)}x the 16-bit one`;
  const setup = `import { PrioAggregator } from 'privkit/fl';\nconst aggregator = new PrioAggregator({ dimension: ${dimension}, clipNorm: 1, bits: 16, noiseMultiplier: 1, circuit: '${circuit}' });\nconst vdaf = aggregator.vdaf;`;
  return { aggregator, vdaf: aggregator.vdaf, update, report, shape, setup };
}

const boundedL2Of = (ctx: BenchContext, circuit: 'pine' | 'bits') => ctx.once(`prio/l2-${circuit}`, () => boundedL2(ctx, circuit));

/** The leader's and the helper's verification of one bounded-L2 report; returns their output shares. */
function verifyBoundedL2(vdaf: Prio3<readonly number[], number[]>, report: Prio3Report) {
  const common = { verifyKey: VERIFY_KEY, nonce: report.nonce, publicShare: report.publicShare };
  const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
  const helper = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
  return { leader, helper, leaderOut: vdaf.leaderContinued(leader.state, helper.outbound) };
}

/** The verified report's output shares, aggregated and unsharded, against the quantized update. */
function boundedL2Check(b: ReturnType<typeof boundedL2>, report: Prio3Report): string {
  const { helper, leaderOut } = verifyBoundedL2(b.vdaf, report);
  const sums = [leaderOut, helper.outShare].map((share) => {
    const aggregator = b.vdaf.aggregator();
    aggregator.add(report.nonce, share);
    return aggregator.share();
  });
  const sum = b.vdaf.unshard(sums, 1);
  const wrong = sum.findIndex((q, i) => q !== Math.round(b.aggregator.scale * b.update[i]!));
  return wrong < 0 ? 'verified; unshards to the quantized update' : `WRONG: coordinate ${wrong} differs from the quantized update`;
}

function boundedL2ShardGroup(ctx: BenchContext, circuit: 'pine' | 'bits'): Group {
  const b = boundedL2Of(ctx, circuit);
  return {
    shape: b.shape,
    setup: b.setup,
    rate: { unit: 'reports/s', perCall: 1, scale: 1 },
    baseline: 'privkit',
    timing: { warmup: true, minSamples: ctx.mode === 'quick' ? 1 : 5, budgetMs: ctx.mode === 'quick' ? 0 : 4000 },
    tasks: [
      { id: 'privkit', label: 'privkit (wasm)', kind: 'privkit', code: 'aggregator.clientReport(update)', run: () => b.aggregator.clientReport(b.update), check: () => boundedL2Check(b, b.aggregator.clientReport(b.update)) },
      memoryFloor(b),
    ],
  };
}

/** No other library proves this circuit: the baseline is the memory floor, one copy of the leader's input share (the report's bulk). */
function memoryFloor(b: ReturnType<typeof boundedL2>): Task {
  const share = b.report.inputShares[0]!;
  const target = new Uint8Array(share.length);
  return { id: 'copy', label: "memory floor: one copy of the leader's input share", kind: 'baseline', code: 'out.set(report.inputShares[0])', run: () => target.set(share), check: () => `copies ${bytes(share.length)}` };
}

function boundedL2VerifyGroup(ctx: BenchContext, circuit: 'pine' | 'bits'): Group {
  const b = boundedL2Of(ctx, circuit);
  const common = { verifyKey: VERIFY_KEY, nonce: b.report.nonce, publicShare: b.report.publicShare };
  const leaderInit = () => b.vdaf.leaderInit({ ...common, inputShare: b.report.inputShares[0]! });
  const inbound = leaderInit().outbound;
  const finish = b.vdaf.helperInit({ ...common, inputShare: b.report.inputShares[1]!, inbound }).outbound;
  return {
    shape: `${b.shape}; each aggregator's work on one report`,
    setup: `${b.setup}\nconst report = aggregator.clientReport(update);`,
    rate: { unit: 'reports/s', perCall: 1, scale: 1 },
    baseline: 'leader',
    timing: { warmup: true, minSamples: ctx.mode === 'quick' ? 1 : 5, budgetMs: ctx.mode === 'quick' ? 0 : 3000 },
    tasks: [
      { id: 'leader', label: 'privkit (wasm), leader', kind: 'privkit', code: 'vdaf.leaderContinued(vdaf.leaderInit(report).state, helperMessage)', run: () => b.vdaf.leaderContinued(leaderInit().state, finish), check: () => boundedL2Check(b, b.report) },
      { id: 'helper', label: 'privkit (wasm), helper', kind: 'privkit', code: 'vdaf.helperInit({ ...report, inbound: leaderMessage })', run: () => b.vdaf.helperInit({ ...common, inputShare: b.report.inputShares[1]!, inbound }), check: () => boundedL2Check(b, b.report) },
      memoryFloor(b),
    ],
  };
}

/** The circuits of this run, made once (a Prio3 object holds the circuit's precomputed tables). */
const circuitsOf = (ctx: BenchContext) => ctx.once('prio/circuits', () => circuits(ctx));
const circuit = (ctx: BenchContext, id: string) => circuitsOf(ctx).find((c) => c.id === id)!;

export const prio: Family = {
  id: 'prio',
  title: 'Prio3 verifiable aggregation',
  intro:
    'A client splitting its measurement into two shares with a proof that it is valid, and the two aggregators checking the proof on their shares ' +
    '(draft-irtf-cfrg-vdaf-20), against @divviup/prio3, the JavaScript implementation (draft 08, BigInt field arithmetic).',
  groups: [
    { id: 'sumvec-shard', title: 'Prio3SumVec: shard a report', prepare: (ctx) => shardGroup(circuit(ctx, 'sumvec')) },
    { id: 'sumvec-verify', title: 'Prio3SumVec: verify a report (both aggregators)', prepare: (ctx) => verifyGroup(circuit(ctx, 'sumvec')) },
    { id: 'histogram-shard', title: 'Prio3Histogram: shard a report', prepare: (ctx) => shardGroup(circuit(ctx, 'histogram')) },
    { id: 'histogram-verify', title: 'Prio3Histogram: verify a report (both aggregators)', prepare: (ctx) => verifyGroup(circuit(ctx, 'histogram')) },
    { id: 'pine-l2-shard', title: 'Norm-bounded FL update (Prio3PineL2VecSum, PINE): shard a report', prepare: (ctx) => boundedL2ShardGroup(ctx, 'pine') },
    { id: 'pine-l2-verify', title: 'Norm-bounded FL update (Prio3PineL2VecSum, PINE): verify a report (each aggregator)', prepare: (ctx) => boundedL2VerifyGroup(ctx, 'pine') },
    { id: 'bounded-l2-shard', title: 'Norm-bounded FL update (Prio3BoundedL2VecSum): shard a report', prepare: (ctx) => boundedL2ShardGroup(ctx, 'bits') },
    { id: 'bounded-l2-verify', title: 'Norm-bounded FL update (Prio3BoundedL2VecSum): verify a report (each aggregator)', prepare: (ctx) => boundedL2VerifyGroup(ctx, 'bits') },
  ],
};
