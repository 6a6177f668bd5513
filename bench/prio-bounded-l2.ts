// The norm-bounded federated-learning rows of the Prio3 bench suite: one report of a 100,000-parameter
// update at 16 bits (the bound of PrioAggregator with clip norm 1) under each of PrioAggregator's
// circuits, Prio3PineL2VecSum (PINE, 'pine') and Prio3BoundedL2VecSum ('bits'), timed as
// client sharding, the leader's verification (leaderInit + leaderContinued) and the helper's
// (helperInit), each the median of SAMPLES runs after one warm-up, as wall time and as this process's
// CPU time; the report's size against the plain update (float32, and 16-bit integers); reports per
// minute per core for the slower aggregator (from its CPU time).
import { createRng } from '../src/dp/index.js';
import { PrioAggregator } from '../src/fl/index.js';

const DIMENSION = 100_000;
const BITS = 16;
const SAMPLES = 5;

/**
 * Median ms of `samples` runs after one warm-up: wall time, and this process's CPU time (user +
 * system, all its threads), which a machine shared with other jobs inflates much less.
 */
function median(task: () => unknown, samples = SAMPLES): { wall: number; cpu: number } {
  task();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    task();
    const used = process.cpuUsage(cpu);
    walls.push(performance.now() - start);
    cpus.push((used.user + used.system) / 1000);
  }
  const mid = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(samples / 2)]!;
  return { wall: mid(walls), cpu: mid(cpus) };
}

export interface BoundedL2Row {
  circuit: string;
  /** Wall-clock medians. */
  shardMs: number;
  leaderVerifyMs: number;
  helperVerifyMs: number;
  /** CPU-time medians of the same runs. */
  shardCpuMs: number;
  leaderVerifyCpuMs: number;
  helperVerifyCpuMs: number;
  reportBytes: number;
  float32UpdateBytes: number;
  sizeVsFloat32: number;
  sizeVs16Bit: number;
  reportsPerMinutePerCore: number;
}

export function boundedL2Row(circuit: 'pine' | 'bits'): BoundedL2Row {
  const rng = createRng({ seed: new Uint8Array(32).fill(1) });
  const aggregator = new PrioAggregator({ dimension: DIMENSION, clipNorm: 1, bits: BITS, noiseMultiplier: 1, circuit, rng });
  const vdaf = aggregator.vdaf;
  const u = rng.uniform(DIMENSION);
  const update = Float32Array.from(u, (v) => v - 0.5);
  const norm = Math.hypot(...update);
  for (let i = 0; i < DIMENSION; i++) update[i] = (update[i]! * 0.999) / norm;
  const shard = median(() => aggregator.clientReport(update));
  const report = aggregator.clientReport(update);
  const verifyKey = rng.bytes(32);
  const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
  const leaderFirst = (): ReturnType<typeof vdaf.leaderInit> => vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
  const inbound = leaderFirst().outbound;
  // the helper: its whole step (init, the verifier message, its output share)
  const helper = median(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound }));
  const finish = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound }).outbound;
  // the leader: init and its last step
  const leader = median(() => vdaf.leaderContinued(leaderFirst().state, finish));
  const reportBytes = report.nonce.length + report.publicShare.length + report.inputShares.reduce((s, share) => s + share.length, 0);
  return {
    circuit: `${vdaf.name} (${vdaf.circuit.field.name}, ${vdaf.proofs} proof${vdaf.proofs > 1 ? 's' : ''}) length ${DIMENSION}, bits ${BITS}, bound ${aggregator.bound}`,
    shardMs: shard.wall,
    leaderVerifyMs: leader.wall,
    helperVerifyMs: helper.wall,
    shardCpuMs: shard.cpu,
    leaderVerifyCpuMs: leader.cpu,
    helperVerifyCpuMs: helper.cpu,
    reportBytes,
    float32UpdateBytes: 4 * DIMENSION,
    sizeVsFloat32: reportBytes / (4 * DIMENSION),
    sizeVs16Bit: reportBytes / ((BITS / 8) * DIMENSION),
    reportsPerMinutePerCore: 60_000 / Math.max(leader.cpu, helper.cpu),
  };
}
