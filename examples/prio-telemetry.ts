// `npm run example:prio`: browser-telemetry-style private aggregation with Prio3 (the Divvi Up /
// DAP setting). Simulated clients each report one bucket of a 100-bucket histogram as a
// Prio3Histogram report for two aggregators (the leader and the helper, who must not collude); 1%
// of the clients are malicious and tamper with their reports (inflate a bucket in their share, flip
// a proof byte, lie in the public share, truncate a share, replay another client's report). Both
// aggregators verify the whole batch on a worker pool (each report settles on its own), add the
// accepted output shares, and each adds its own discrete Gaussian noise to its aggregate share
// before release, so the collector's histogram is DP against each aggregator and every observer.
// Prints what was refused and why, the noisy histogram against the true one, and epsilon.
import { parseArgs } from 'node:util';
import { ready } from 'privkit';
import { discreteGaussianZcdp, zcdpToEpsilon } from 'privkit/accounting';
import { createPool } from 'privkit/pool';
import { helperInitReports, leaderInitReports, prio3Histogram, shardReports, type Prio3Report } from 'privkit/prio';

const HELP = `Usage: npm run example:prio -- [options]

Simulates private telemetry with Prio3Histogram: clients shard one bucket each into reports for two
aggregators, 1% of them tamper with their reports, the aggregators verify every report on a worker
pool and add discrete Gaussian noise to their aggregate shares, and the collector reads a DP histogram.

Options:
  --clients N     number of clients (default 10000)
  --buckets N     histogram buckets (default 100)
  --malicious F   fraction of malicious clients (default 0.01)
  --sigma S       each aggregator's noise standard deviation, in counts (default 10)
  --delta D       delta of the reported (epsilon, delta) (default 1e-6)
  --threads N     pool worker threads (default 2)
  --help          show this help
`;

const ATTACKS = ['inflate bucket 0 by 50 in the leader share', 'flip a proof byte', 'lie in the public share', 'truncate the helper share', "replay another client's report"] as const;

/** A client's tampered report: attack `kind` applied to its honest report (or another client's, for the replay). */
function tamper(report: Prio3Report, kind: (typeof ATTACKS)[number], other: Prio3Report, buckets: number): Prio3Report {
  const [leader, helper] = report.inputShares as [Uint8Array, Uint8Array];
  switch (kind) {
    case 'inflate bucket 0 by 50 in the leader share': {
      // the leader's measurement share starts with bucket 0's Field128 element (16 bytes, little-endian)
      const share = leader.slice();
      let carry = 50;
      for (let i = 0; i < 16 && carry > 0; i++) {
        const sum = share[i]! + carry;
        share[i] = sum & 0xff;
        carry = sum >> 8;
      }
      return { ...report, inputShares: [share, helper] };
    }
    case 'flip a proof byte': {
      const share = leader.slice();
      share[16 * buckets + 5]! ^= 0x40; // the proof follows the measurement share
      return { ...report, inputShares: [share, helper] };
    }
    case 'lie in the public share':
      return { ...report, publicShare: report.publicShare.map((b, i) => (i === 3 ? b ^ 1 : b)) };
    case 'truncate the helper share':
      return { ...report, inputShares: [leader, helper.subarray(0, helper.length - 1)] };
    case "replay another client's report":
      return other;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '10000' },
      buckets: { type: 'string', default: '100' },
      malicious: { type: 'string', default: '0.01' },
      sigma: { type: 'string', default: '10' },
      delta: { type: 'string', default: '1e-6' },
      threads: { type: 'string', default: '2' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const clients = Number(values.clients);
  const buckets = Number(values.buckets);
  const sigma = Number(values.sigma);
  const delta = Number(values.delta);
  const maliciousCount = Math.round(clients * Number(values.malicious));
  await ready();
  const pool = await createPool({ threads: Number(values.threads) });
  try {
    const vdaf = prio3Histogram({ length: buckets });
    // each client's bucket: a skewed, deterministic distribution (the data need no secrecy here)
    const measurements = Array.from({ length: clients }, (_, i) => Math.floor(buckets * ((Math.imul(i + 1, 2654435761) >>> 0) / 2 ** 32) ** 2));
    let started = performance.now();
    const honest = await shardReports(vdaf, measurements, { pool });
    const shardMs = performance.now() - started;
    // the first maliciousCount clients tamper, cycling through the attacks
    const reports = honest.map((r, i) => (i < maliciousCount ? tamper(r, ATTACKS[i % ATTACKS.length]!, honest[clients - 1 - i]!, buckets) : r));

    // the aggregators share a secret verify key (clients never see it)
    const verifyKey = crypto.getRandomValues(new Uint8Array(32));
    started = performance.now();
    const led = await leaderInitReports(vdaf, reports.map((r) => ({ ...r, inputShare: r.inputShares[0]! })), { verifyKey, pool });
    const toHelper = reports.flatMap((r, i) => {
      const step = led[i]!;
      return step.status === 'fulfilled' ? [{ i, input: { ...r, inputShare: r.inputShares[1]!, inbound: step.value.outbound } }] : [];
    });
    const helped = await helperInitReports(vdaf, toHelper.map((t) => t.input), { verifyKey, pool });
    const [leaderSum, helperSum] = [vdaf.aggregator(), vdaf.aggregator()];
    const refused = new Map<string, number>();
    const refuse = (reason: unknown) => {
      const key = reason instanceof Error ? reason.message.replace(/[0-9a-f]{32}/, '<nonce>') : String(reason);
      refused.set(key, (refused.get(key) ?? 0) + 1);
    };
    led.forEach((step) => step.status === 'rejected' && refuse(step.reason));
    helped.forEach((step, k) => {
      const { i } = toHelper[k]!;
      if (step.status === 'rejected') return refuse(step.reason);
      const leaderStep = led[i]!;
      if (leaderStep.status !== 'fulfilled') throw new Error('only the leader\'s fulfilled reports reach the helper');
      try {
        const out = vdaf.leaderContinued(leaderStep.value.state, step.value.outbound);
        // a nonce seen before is refused here (E_PROTOCOL): the first report under a nonce counts
        leaderSum.add(reports[i]!.nonce, out);
        helperSum.add(reports[i]!.nonce, step.value.outShare);
      } catch (error) {
        refuse(error);
      }
    });
    const verifyMs = performance.now() - started;

    // each aggregator adds its own noise before release; the collector unshards the noisy shares
    const accepted = leaderSum.count;
    const noisy = vdaf.unshard([leaderSum.share({ noiseSigma: sigma }), helperSum.share({ noiseSigma: sigma })], accepted, { noised: true });
    const truth = Array.from({ length: buckets }, () => 0);
    for (let i = maliciousCount; i < clients; i++) truth[measurements[i]!]! += 1;

    // replace-one neighbours: one client moves one count between two buckets, L2 sensitivity sqrt(2).
    // Against an aggregator (it knows its own noise) the release is the histogram plus the other's
    // noise alone; every other observer sees both noises, so the same bound holds for them.
    const rho = discreteGaussianZcdp({ sigma, sensitivity: Math.SQRT2 });
    const { epsilon } = zcdpToEpsilon(rho, delta);

    console.log(`${clients.toLocaleString('en-US')} clients, ${buckets} buckets, ${maliciousCount} malicious; pool of ${pool.threads} workers`);
    console.log(`sharded in ${shardMs.toFixed(0)} ms; both aggregators verified in ${verifyMs.toFixed(0)} ms`);
    console.log(`accepted ${accepted.toLocaleString('en-US')} reports, refused ${clients - accepted}:`);
    for (const [reason, count] of refused) console.log(`  ${String(count).padStart(5)}  ${reason}`);
    const top = truth.map((count, bucket) => ({ bucket, count, noisy: noisy[bucket]! })).sort((a, b) => b.count - a.count).slice(0, 8);
    console.log('largest buckets (true count of honest clients, DP release):');
    for (const { bucket, count, noisy: n } of top) console.log(`  bucket ${String(bucket).padStart(3)}  ${String(count).padStart(6)}  ${String(n).padStart(6)}`);
    const maxError = Math.max(...truth.map((count, b) => Math.abs(noisy[b]! - count)));
    console.log(`largest error over all buckets: ${maxError} (noise sd ${(sigma * Math.SQRT2).toFixed(1)} per bucket: two aggregators' noises)`);
    console.log(`privacy: (epsilon = ${epsilon.toFixed(3)}, delta = ${delta}) per client (replace-one), against each aggregator and every observer of the histogram`);
    if (clients - accepted !== maliciousCount) throw new Error(`expected exactly the ${maliciousCount} malicious reports refused, got ${clients - accepted}`);
  } finally {
    await pool.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
