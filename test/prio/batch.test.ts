// Prio3 on batches (src/prio/batch.ts): shardReports, leaderInitReports and helperInitReports, on
// this thread and on a 2-worker pool. A batch of honest and malicious Histogram reports goes through
// both aggregators' ping-pong; each malicious report is refused on its own (the same reason with or
// without the pool), the honest ones aggregate to their histogram, and an adopted leader state
// finishes once only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import { createPool, type Pool } from 'privkit/pool';
import { helperInitReports, leaderInitReports, prio3BoundedL2VecSum, prio3Histogram, prio3PineL2VecSum, prio3SumVec, shardReports, type Prio3Report } from 'privkit/prio';

const BUCKETS = 5;
const vdaf = prio3Histogram({ length: BUCKETS, chunkLength: 2 });
const verifyKey = new Uint8Array(32).fill(0x5a);
const MEASUREMENTS = [0, 4, 4, 2, 1, 4, 3, 0, 2, 2, 4];

/** The value of a settled report, or its reason thrown. */
const ok = <T>(settled: PromiseSettledResult<T> | undefined): T => {
  if (settled === undefined) throw new Error('no result');
  if (settled.status === 'rejected') throw settled.reason;
  return settled.value;
};

let pool: Pool;
beforeAll(async () => {
  await ready();
  pool = await createPool({ threads: 2 });
});
afterAll(() => pool.close());

/** Three malicious reports made from honest ones: a lying joint-randomness part, a flipped proof byte in the leader share, a truncated helper share. */
function malicious(reports: Prio3Report[]): Prio3Report[] {
  const [a, b, c] = reports;
  const lying = { ...a!, publicShare: a!.publicShare.map((byte, i) => (i === 0 ? byte ^ 1 : byte)) };
  const leaderShare = b!.inputShares[0]!.slice();
  leaderShare[leaderShare.length - 40]! ^= 0x10;
  const flipped = { ...b!, inputShares: [leaderShare, b!.inputShares[1]!] };
  const truncated = { ...c!, inputShares: [c!.inputShares[0]!, c!.inputShares[1]!.subarray(1)] };
  return [lying, flipped, truncated];
}

/** Both aggregators over the batch; returns each report's status and the collector's histogram of the accepted ones. */
async function aggregate(reports: Prio3Report[], opts: { pool?: Pool }): Promise<{ statuses: string[]; reasons: (string | undefined)[]; histogram: number[] }> {
  const led = await leaderInitReports(vdaf, reports.map((r) => ({ ...r, inputShare: r.inputShares[0]! })), { verifyKey, ...opts });
  const passed = reports.flatMap((_, i) => (led[i]!.status === 'fulfilled' ? [i] : []));
  const helped = await helperInitReports(
    vdaf,
    passed.map((i) => ({ ...reports[i]!, inputShare: reports[i]!.inputShares[1]!, inbound: ok(led[i]).outbound })),
    { verifyKey, ...opts },
  );
  const leader = vdaf.aggregator();
  const helper = vdaf.aggregator();
  const reasons: (string | undefined)[] = led.map((r) => (r.status === 'rejected' ? (r.reason as PrivkitError).code : undefined));
  helped.forEach((h, k) => {
    const i = passed[k]!;
    if (h.status === 'rejected') {
      reasons[i] = (h.reason as PrivkitError).code;
      return;
    }
    const state = ok(led[i]).state;
    leader.add(reports[i]!.nonce, vdaf.leaderContinued(state, h.value.outbound));
    helper.add(reports[i]!.nonce, h.value.outShare);
  });
  expect(leader.count).toBe(helper.count);
  return { statuses: reasons.map((r) => (r === undefined ? 'accepted' : 'refused')), reasons, histogram: vdaf.unshard([leader.share(), helper.share()], Math.max(1, leader.count)) };
}

describe.each([
  ['on this thread', () => ({})],
  ['on a 2-worker pool', () => ({ pool })],
])('Prio3 batches %s', (_, options) => {
  it('shards every measurement into a valid report, refuses each malicious report alone and aggregates the rest', async () => {
    const honest = await shardReports(vdaf, MEASUREMENTS, options());
    expect(honest).toHaveLength(MEASUREMENTS.length);
    const bad = malicious(honest);
    const { statuses, reasons, histogram } = await aggregate([...bad, ...honest], options());
    expect(statuses).toEqual([...bad.map(() => 'refused'), ...honest.map(() => 'accepted')]);
    expect(reasons.slice(0, 3)).toEqual(['E_AUTH', 'E_AUTH', 'E_ARG']);
    const expected = Array.from({ length: BUCKETS }, (_, b) => MEASUREMENTS.filter((m) => m === b).length);
    expect(histogram).toEqual(expected);
  });

  it('refuses bad arguments with coded errors naming them', async () => {
    const opts = options();
    const code = (promise: Promise<unknown>) => promise.then(() => 'resolved', (e: PrivkitError) => `${e.code} ${e.argument}${e.index === undefined ? '' : `[${e.index}]`}`);
    expect(await code(shardReports(vdaf, [0, BUCKETS], opts))).toBe('E_ARG measurements[1]');
    expect(await code(shardReports({} as never, [0], opts))).toBe('E_ARG vdaf');
    expect(await code(shardReports(vdaf, [0], { ...opts, extra: 1 } as never))).toBe('E_ARG opts.extra');
    const report = vdaf.shard(1);
    expect(await code(leaderInitReports(vdaf, [{ ...report, inputShare: report.inputShares[0]! }], { ...opts, verifyKey: new Uint8Array(31) }))).toBe('E_ARG verifyKey');
    expect(await code(leaderInitReports(vdaf, [{ ...report, inputShare: [1, 2] as never }], { ...opts, verifyKey }))).toBe('E_ARG reports[0].inputShare');
    expect(await code(helperInitReports(vdaf, [{ ...report, inputShare: report.inputShares[1]! } as never], { ...opts, verifyKey }))).toBe('E_ARG reports[0].inbound');
    const aborted = new AbortController();
    aborted.abort();
    expect(await code(shardReports(vdaf, [0], { ...opts, signal: aborted.signal }))).toMatch(/^E_ABORTED/);
  });
});

describe('a leader state from a batch', () => {
  it('finishes once: a second leaderContinued is E_PROTOCOL', async () => {
    const report = vdaf.shard(3);
    const [led] = await leaderInitReports(vdaf, [{ ...report, inputShare: report.inputShares[0]! }], { verifyKey, pool });
    const { state, outbound } = ok(led);
    const [helped] = await helperInitReports(vdaf, [{ ...report, inputShare: report.inputShares[1]!, inbound: outbound }], { verifyKey, pool });
    const finish = ok(helped).outbound;
    expect(vdaf.leaderContinued(state, finish)).toBeInstanceOf(Uint8Array);
    expect(() => vdaf.leaderContinued(state, finish)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
  });

  it('belongs to its VDAF only: another VDAF of the same parameters refuses it', async () => {
    const report = vdaf.shard(2);
    const [led] = await leaderInitReports(vdaf, [{ ...report, inputShare: report.inputShares[0]! }], { verifyKey });
    const other = prio3Histogram({ length: BUCKETS, chunkLength: 2 });
    expect(() => other.leaderContinued(ok(led).state, new Uint8Array([2, 0, 0, 0, 32, ...new Uint8Array(32)]))).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'state' }));
  });
});

it('shards a large SumVec on the pool like on this thread (each report unshards to its measurement)', async () => {
  const sumVec = prio3SumVec({ length: 2000, bits: 4, chunkLength: 90 });
  const measurements = [0, 1, 2].map((k) => Array.from({ length: 2000 }, (_, i) => (i * 7 + k) % 16));
  const reports = await shardReports(sumVec, measurements, { pool });
  const led = await leaderInitReports(sumVec, reports.map((r) => ({ ...r, inputShare: r.inputShares[0]! })), { verifyKey, pool });
  const helped = await helperInitReports(sumVec, reports.map((r, i) => ({ ...r, inputShare: r.inputShares[1]!, inbound: ok(led[i]).outbound })), { verifyKey, pool });
  reports.forEach((r, i) => {
    const leader = sumVec.aggregator();
    const helper = sumVec.aggregator();
    leader.add(r.nonce, sumVec.leaderContinued(ok(led[i]).state, ok(helped[i]).outbound));
    helper.add(r.nonce, ok(helped[i]).outShare);
    expect(sumVec.unshard([leader.share(), helper.share()], 1)).toEqual(measurements[i]);
  });
});

it.each([
  ['Prio3BoundedL2VecSum', () => prio3BoundedL2VecSum({ length: 3, bits: 8, bound: 100 })],
  ['Prio3PineL2VecSum', () => prio3PineL2VecSum({ length: 3, bound: 100 })],
])("remakes every factory's VDAF on the workers: a norm-bounded vector round-trips through the pool (%s)", async (_name, make) => {
  const bounded = make();
  const [report] = await shardReports(bounded, [[6, -8, 0]], { pool });
  const [led] = await leaderInitReports(bounded, [{ ...report!, inputShare: report!.inputShares[0]! }], { verifyKey, pool });
  const [helped] = await helperInitReports(bounded, [{ ...report!, inputShare: report!.inputShares[1]!, inbound: ok(led).outbound }], { verifyKey, pool });
  const shares = [bounded.leaderContinued(ok(led).state, ok(helped).outbound), ok(helped).outShare].map((share) => {
    const aggregator = bounded.aggregator();
    aggregator.add(report!.nonce, share);
    return aggregator.share();
  });
  expect(bounded.unshard(shares, 1)).toEqual([6, -8, 0]);
});
