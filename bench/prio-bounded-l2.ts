// The norm-bounded federated-learning row of the Prio3 bench suite: one Prio3BoundedL2VecSum report
// of a 100,000-parameter update at 16 bits (the bound of PrioAggregator with clip norm 1), timed as
// client sharding, the leader's verification (leaderInit + leaderContinued) and the helper's
// (helperInit), each the median of SAMPLES runs after one warm-up; the report's size against the
// plain update (float32, and 16-bit integers); reports per minute per core for the slower aggregator.
import { createRng } from '../src/dp/index.js';
import { PrioAggregator } from '../src/fl/index.js';

const DIMENSION = 100_000;
const BITS = 16;
const SAMPLES = 5;

/** Median ms of `samples` runs after one warm-up. */
function median(task: () => unknown, samples = SAMPLES): number {
  task();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    task();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(samples / 2)]!;
}

export interface BoundedL2Row {
  circuit: string;
  shardMs: number;
  leaderVerifyMs: number;
  helperVerifyMs: number;
  reportBytes: number;
  float32UpdateBytes: number;
  sizeVsFloat32: number;
  sizeVs16Bit: number;
  reportsPerMinutePerCore: number;
}

export function boundedL2Row(): BoundedL2Row {
  const rng = createRng({ seed: new Uint8Array(32).fill(1) });
  const aggregator = new PrioAggregator({ dimension: DIMENSION, clipNorm: 1, bits: BITS, noiseMultiplier: 1, rng });
  const vdaf = aggregator.vdaf;
  const u = rng.uniform(DIMENSION);
  const update = Float32Array.from(u, (v) => v - 0.5);
  const norm = Math.hypot(...update);
  for (let i = 0; i < DIMENSION; i++) update[i] = (update[i]! * 0.999) / norm;
  const shardMs = median(() => aggregator.clientReport(update));
  const report = aggregator.clientReport(update);
  const verifyKey = rng.bytes(32);
  const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
  const leaderInitMs = median(() => vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! }));
  const helperVerifyMs = median(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! }).outbound }) ) - leaderInitMs;
  const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
  const helper = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
  const leaderFinishMs = median(() => vdaf.leaderContinued(vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! }).state, helper.outbound)) - leaderInitMs;
  const reportBytes = report.nonce.length + report.publicShare.length + report.inputShares.reduce((s, share) => s + share.length, 0);
  const leaderVerifyMs = leaderInitMs + leaderFinishMs;
  return {
    circuit: `Prio3BoundedL2VecSum length ${DIMENSION}, bits ${BITS}, bound ${aggregator.bound}`,
    shardMs,
    leaderVerifyMs,
    helperVerifyMs,
    reportBytes,
    float32UpdateBytes: 4 * DIMENSION,
    sizeVsFloat32: reportBytes / (4 * DIMENSION),
    sizeVs16Bit: reportBytes / ((BITS / 8) * DIMENSION),
    reportsPerMinutePerCore: 60_000 / Math.max(leaderVerifyMs, helperVerifyMs),
  };
}
