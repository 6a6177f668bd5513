// Prio3 reports through the two verification exchanges, for tests: the star exchange (every
// aggregator's verifyInit, the verifier message, every verifyNext) and ping-pong (leader and helper,
// two aggregators), and honest measurements aggregated end to end (ping-pong for two aggregators,
// the star exchange for more).
import type { Rng } from 'privkit/dp';
import type { Prio3, Prio3Report } from 'privkit/prio';

type AnyPrio3 = Prio3<any, any>;

export interface PrioRounds {
  /** The star exchange; `keys` gives aggregator i its own verify key (a wrong key must reject). */
  verifyStar(vdaf: AnyPrio3, report: Prio3Report, opts?: { keys?: Uint8Array[]; ctx?: Uint8Array }): Uint8Array[];
  /** Ping-pong between the leader and the helper: both output shares. */
  verifyPingPong(vdaf: AnyPrio3, report: Prio3Report): Uint8Array[];
  /** Shards every measurement, verifies it, adds the output shares and unshards. */
  aggregate<M, R>(vdaf: Prio3<M, R>, measurements: readonly M[]): R;
}

/** The exchanges with one verify key and one generator for the clients' randomness. */
export function prioRounds(verifyKey: Uint8Array, rng: Rng): PrioRounds {
  const verifyStar: PrioRounds['verifyStar'] = (vdaf, report, opts = {}) => {
    const inits = report.inputShares.map((inputShare, aggregatorId) =>
      vdaf.verifyInit({ verifyKey: opts.keys?.[aggregatorId] ?? verifyKey, aggregatorId, nonce: report.nonce, publicShare: report.publicShare, inputShare, ctx: opts.ctx }),
    );
    const message = vdaf.verifierSharesToMessage(inits.map((i) => i.verifierShare));
    return inits.map((i) => vdaf.verifyNext(i.state, message));
  };
  const verifyPingPong: PrioRounds['verifyPingPong'] = (vdaf, report) => {
    const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
    const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
    const helper = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
    return [vdaf.leaderContinued(leader.state, helper.outbound), helper.outShare];
  };
  const aggregate = <M, R>(vdaf: Prio3<M, R>, measurements: readonly M[]): R => {
    const any = vdaf as AnyPrio3;
    const aggregators = Array.from({ length: any.shares }, () => any.aggregator());
    for (const m of measurements) {
      const report = any.shard(m, { rng });
      const outShares = any.shares === 2 ? verifyPingPong(any, report) : verifyStar(any, report);
      outShares.forEach((share, j) => aggregators[j]!.add(report.nonce, share));
    }
    return vdaf.unshard(aggregators.map((a) => a.share()), measurements.length);
  };
  return { verifyStar, verifyPingPong, aggregate };
}
