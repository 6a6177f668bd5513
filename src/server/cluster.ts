// privkit/server scaled out over Redis: several aggregator processes each hold their own clients'
// WebSocket connections, and one coordinator runs the task's rounds through one Redis (key layout and
// the coordinator's fenced lease in redis.ts). The round is the one of server.ts (DP-FedAvg with
// central DP, McMahan et al. 2018), split across processes:
//   1. each aggregator registers its clients' check-ins in Redis (hash client -> aggregator) and keeps
//      a heartbeat key with a TTL;
//   2. the coordinator takes a snapshot of the check-ins of living aggregators (n of them, n_a at
//      aggregator a), samples exactly k of them with privkit's CSPRNG, stratified: k_a = k n_a / n
//      rounded (largest remainders) at aggregator a, uniformly without replacement among its candidates,
//      opens the round in its SQLite ledger and publishes each aggregator's part of the sample and
//      its candidates' count (a fenced write).
//      Sampling rate. How many of an aggregator's n_a candidates were sampled (k_a) is public: its
//      clients leave its check-ins (its HTTP endpoint and Redis show them), an aggregator that dies takes
//      its k_a clients out of the round's public count, and in secure aggregation a shard is released
//      or withheld on its own count. Given k_a, an aggregator's clients were sampled at k_a / n_a, which
//      exceeds k / n whenever the sample is not spread in proportion (3 aggregators of 3 clients, k = 6,
//      sampled uniformly among all 9: a shard of 3 had all its clients sampled, not 6 of 9; hence the
//      stratified sample, whose k_a / n_a is within 1 / n_a of k / n). So a round is
//      charged at q = max over the aggregators it can release of min(1, k_a / (n_a - c)) (c colluding
//      clients, at worst all among that aggregator's candidates and not sampled), computed once the
//      sample is drawn, and it is priced against targetEpsilon at that rate before it opens;
//   3. each aggregator sends its sampled clients the model, clips each update to clipNorm as it
//      arrives and adds it to a float64 partial sum; when all its sampled clients have uploaded, or at
//      the deadline trainMs, it writes its partial sum and count to Redis;
//   4. the coordinator waits for the partials of every aggregator that was sampled from, until
//      trainMs + graceMs, and no longer than the heartbeat of an aggregator whose partial is missing:
//      an aggregator that died mid-round makes its sampled clients dropouts. With fewer than minUpdates
//      updates in the partials the round is withheld (on the count alone, nothing charged); otherwise
//      the ledger is charged FIRST, the partials are added, the noise is drawn ONCE on the total, and
//      the model version is released in the ledger before it is published to the aggregators.
// The ledger's crash rules (ledger.ts) are unchanged: it lives with the coordinator, and a coordinator
// restarted on the same data directory aborts the round in flight (charged rounds keep their charge).
// One started on another ledger (which would charge from zero) is refused: Redis keeps the number of the
// last round opened (a fenced write with the sample, before any charge of it), and a ledger that never
// opened it is not the task's (a Redis emptied since cannot tell: keep the data directory).
// A partial that arrives after the coordinator decided is ignored; round numbers are never reused, so
// no partial can be counted in two rounds and no round is charged twice.
//
// Sums: every update is clipped by the same kernel as CentralDpAggregator and summed in float64; the
// partial sums are added in float64 again. Rounding error of a sum of n terms is bounded by
// (n - 1) u sum |x| whatever the order or grouping of the additions (Higham, Accuracy and Stability of
// Numerical Algorithms, 2nd ed., section 4.2), so the sensitivity CentralDpAggregator charges (which
// allows that error) covers this sum too, and the noise and the charge are CentralDpAggregator's.
//
// Trust model of 'central-dp'. Central DP, as in server.ts: the epsilon is for observers of what the service releases
// (model versions, round results, task status with the checked-in counts); it gives no protection
// against the service itself. The service here is the coordinator, every aggregator process AND the
// Redis server: all of them are inside the trusted boundary. Partial sums in Redis are unnoised, the
// aggregators see each update in the clear, and Redis holds the token hashes, the check-ins (which
// client is connected where) and each round's sample. Whoever reads Redis (or its network traffic)
// learns every round's unnoised partial sums (for a partial of one client: that client's clipped
// update), which clients were sampled, and the released models; whoever can write to Redis can forge
// partial sums and check-ins (poisoning the model and the sample) but cannot take the lease from a
// living coordinator, make it skip a charge, or change its ledger. Run Redis on a private network
// with authentication (a redis://user:password@ or rediss:// URL) and treat it like the ledger's disk.
//
// Secure aggregation (aggregator: 'secagg'): one SecAgg+ shard per aggregator. Steps 1-2 are as
// above (a check-in needs an enrolled Ed25519 key: aggregators verify enrolments and bind each key to
// one client in Redis, and before each sample the coordinator binds the candidates' keys in its
// ledger, for good (once per client and key: the coordinator remembers what its ledger bound),
// leaving out a client whose key the ledger binds elsewhere, unless the operator bound the key at
// issue (issueToken's signingPublicKey: written to the ledger and Redis at once); as on the
// one-process server only a connection that presented the signed enrolment checks in; bans of
// convicted dealers and of holders revealing shares their dealers never sent go the same way, and
// the ledger's bindings and bans are written back to Redis at start). Then:
//   3'. each aggregator runs the one-process server's SecAgg+ round (secagg-round.ts: 16 neighbours,
//      signed key adverts, the distributed discrete Gaussian) among ITS sampled clients, its shard,
//      with the round's rotation seed from the coordinator; when the shard's consistency check closes
//      (its survivor set fixed and signed) it reports the survivors (0: below the shard's minimum,
//      withheld) and waits: no unmask request leaves yet;
//   4'. the coordinator waits for every sampled shard's report, until trainMs + 3 phaseMs + graceMs and
//      no longer than a silent aggregator's heartbeat: a shard that did not report (its aggregator died
//      mid-round) or has fewer than minUpdates survivors is withheld (its clients are dropouts). If no
//      shard is left the round is withheld, nothing charged. Otherwise the ledger is charged FIRST, then
//      the coordinator admits the shards left (a fenced write); only they unmask and write their sums
//      (Z_2^bits) with their counts (a sum whose count is not the survivors it reported is left out: it
//      would carry less noise than charged); the coordinator adds them mod 2^bits, dequantizes,
//      rotates back and releases. A
//      shard that fails or dies after its admission is left out of the sum (the charge covers it: the
//      round released a function of the admitted shards' sums); with none left the round is aborted
//      and keeps its charge (counted toward maxAbortedRounds). The round is charged once, whatever fails.
// Noise: ONE plan for every shard (planDistributedDp with clients = clientsPerRound, noiseClients =
// minUpdates, as one SecureAggregator round of k): each client adds 1/minUpdates of the central
// variance (z C)^2, so every shard with at least minUpdates survivors carries at least the central noise
// by itself: per-shard distributed DP. The quantization is planned for all k clients, so neither a
// shard (at most k clients) nor the total of the shards (at most k clients) wraps beyond the plan's bound.
// Cost in utility: the shards' noises are independent and add up, so the released total of S
// survivors carries sqrt(S / minUpdates) x z C. Each shard must reach z C alone, so minUpdates is a
// shard's share of the sample (about k / N with N shards) where one process sets it near k: a cohort
// served by N aggregators learns with about sqrt(N) x the noise of one process at the same epsilon.
// Accounting. A client's update lies in exactly one shard's sum (its aggregator's, fixed by its
// check-in, not by its data), and the shards' noises are independent. Write client j's quantized input
// x_j as y_j = x_j placed in block a(j) of a vector of B blocks (B admitted shards): the shard sums are
// the blocks of sum_{j in sample} y_j, y_j has x_j's L1 and L2 norms, and one client's data replaced
// changes y only in its own block. Each block carries the discrete Gaussians of its shard's honest
// survivors, at least s = min over admitted shards of (survivors - c) of them (c = colludingClients,
// whose noise the observer knows); more draws in a block are independent noise added after the fact
// (post-processing). So the view of the shard sums is at most the subsampled distributed discrete
// Gaussian sum of dimension B x (rotated length) with s noisy clients: the round is charged the plan's
// event (with the samplers' error of all k clients' draws, sampler-error.ts) for max(1, s) clients, its
// dimension B x the rotated length (the accountant's tau x dimension term grows with it; conservative:
// the blocks are independent given the sample and only the replaced client's can differ, so its
// rotated length alone would do), sampled
// without replacement at q = the largest admitted shard's rate min(1, k_a / (n_a - c)) (step 2),
// replace-one, as server.ts charges one SecAgg+ round. Before a round opens it is priced at
// minUpdates - c clients, one block per aggregator with at least minUpdates sampled, and the largest of
// their rates, against targetEpsilon.
// Adversaries and whose epsilon:
//   - the coordinator and anyone who reads Redis (semi-honest): they see every admitted shard's unmasked
//     sum, each DP by itself, and no update; but they also see the sample (the coordinator draws it and
//     writes each aggregator's part to Redis), and amplification by sampling needs the sample hidden: a
//     sampled client's round is an unsampled release to them. Their epsilon is epsilonAgainstServer (the
//     same charges without sampling), not the epsilon, which is for observers of the released models,
//     round results and status only. Whoever can WRITE to Redis is inside the trust boundary here too: it
//     can forge an admission (aggregators unmask on it) or the shards' reports (the coordinator then
//     withholds, uncharged), or the published task's noise (clients' minNoiseMultiplier bounds that);
//   - an aggregator that deviates: against its own shard it is the one-process SecAgg+ server (it sees
//     only the sum over its shard's signed survivor set; epsilonAgainstServer: without sampling), and
//     the client-side checks of privkit/client hold against it, against the SHARD: a client's
//     SecAggClient sees only its shard's participants, so minParticipants bounds the shard's survivor
//     set, and minNoiseMultiplier the plan's noise of minParticipants clients. Like the one-process
//     server it is trusted with the plan, for the survivor count it reports and for the check-ins it
//     registers (a lying aggregator can make the charge too small for its shard's clients, e.g. by
//     registering absent clients to lower its rate k_a / n_a; its clients are protected by their own minimums);
//   - malicious clients: as against the one-process server (signed messages, bans of convicted dealers
//     and discarded holders).
// Aggregator failures and check-ins must not depend on the data (as above).
//
// Clients reach aggregators through the connection layer of the one-process server (connections.ts:
// rate limit, bounded frames, replays, bearer tokens looked up in Redis, maxUnauthenticated, the hello
// deadline and the close codes), so an aggregator refuses what createServer refuses.
import { PrivkitError } from '../errors.js';
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import type { DistributedDiscreteGaussianEvent, PrivacyEvent } from '../accounting/events.js';
import { createRng, isRng, type Rng } from '../dp/rng.js';
import { CentralDpAggregator, centralRoundEvent } from '../fl/aggregators.js';
import { fixedSizeSample, UniformIntegers } from '../fl/sampling.js';
import { clipByL2 } from '../kernels/clip-into.js';
import { planDistributedDp, type DistributedDpPlan } from '../secagg/ddp.js';
import { dequantize } from '../secagg/quantize.js';
import { inverseRandomizedHadamard } from '../secagg/rotation.js';
import { assertInteger, describe, readOptions } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import type { Message, RoundStatus, WireAggregator, WireModelSpec } from '../service/wire.js';
import { CLOSE_FINISHED, CLOSE_REFUSED, LISTEN_KEYS, Refusal, SharedFrame, listen, readListenOptions, tokenHash, type Connection, type Connections, type ListenOptions } from './connections.js';
import { Ledger } from './ledger.js';
import { BAN_REASONS, checkEnrolment, EnrolledConnections, readSigningKeys, secAggMaxBytes, secAggShape, SecAggRound, type Culprit, type SecAggOutcome } from './secagg-round.js';
import { AddressRateLimiter, admitHttp, sendJson, StatusCache } from './status.js';
import { binary, connectRedis, Lease, taskKeys, type FencedArg, type RedisClient, type TaskKeys } from './redis.js';
import { endOfTask, resolveTask, type FinishedBy, type IssuedToken, type ResolvedTask, type TaskOptions, type TaskStatus } from './server.js';

const OBSERVER =
  'observers of the released model versions, round results and task status (checked-in counts included), not the service itself: the coordinator, every aggregator process and the Redis server see updates or unnoised partial sums (central DP); replace-one neighbours, sampling without replacement at the largest rate of an aggregator\'s clients, min(1, sampled / (its checked-in - colludingClients)), assuming check-in, deadlines and aggregator failures do not depend on the data';

const SECAGG_OBSERVER =
  'observers of the released model versions, round results and task status (checked-in counts included); replace-one neighbours, sampling without replacement at the largest released shard\'s rate min(1, sampled / (its checked-in - colludingClients)), assuming check-in, deadlines and aggregator failures do not depend on the data. Not the coordinator nor readers of Redis: they see each shard\'s unmasked sum (every one carrying the distributed discrete Gaussian of its survivors) but also who was sampled; they, and each aggregator (which sees the sum over its shard\'s signed survivor set), get epsilonAgainstServer (without sampling)';

/** What aggregators read from Redis to serve the task's clients. */
interface PublishedTask {
  model: WireModelSpec;
  paramCount: number;
  local: { epochs: number; batchSize: number; learningRate: number };
  clipNorm: number;
  trainMs: number;
  aggregator: WireAggregator;
  /** Secure aggregation: the noise plan's inputs (every aggregator plans the same) and the protocol's settings. */
  secagg?: { clientsPerRound: number; minUpdates: number; noiseMultiplier: number; bits: number; neighbours: number; phaseMs: number };
}

/** The one noise plan of a secure-aggregation task, for every shard: minUpdates survivors of a shard carry z C (see the file header). */
function planOf(task: PublishedTask): DistributedDpPlan {
  const s = task.secagg!;
  return planDistributedDp({ clipNorm: task.clipNorm, dimension: task.paramCount, clients: s.clientsPerRound, noiseClients: s.minUpdates, noiseMultiplier: s.noiseMultiplier, bits: s.bits });
}

/** A round result as the coordinator publishes it. */
interface PublishedResult {
  round: number;
  status: RoundStatus;
  included: number;
  modelVersion: number;
  epsilon: number;
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A ban as the `bans` hash in Redis holds it: the round that convicted the client and why (one of BAN_REASONS). */
const banValue = (round: number, reason: string): string => JSON.stringify({ round, reason });

/** Reads a `bans` value back (a value of another form: a dealer's ban, in round `round`). */
function readBan(value: string, round: number): { round: number; reason: string } {
  let ban: { round?: unknown; reason?: unknown } = {};
  try {
    ban = JSON.parse(value) as typeof ban;
  } catch {
    // not JSON: the defaults below
  }
  const reasons: readonly string[] = Object.values(BAN_REASONS);
  return {
    round: Number.isInteger(ban?.round) ? (ban.round as number) : round,
    reason: typeof ban?.reason === 'string' && reasons.includes(ban.reason) ? ban.reason : BAN_REASONS.dealer,
  };
}

/**
 * Splits a sample of k among groups of the given sizes (n in all, k <= n) in proportion: floor(k n_a / n) each,
 * and one more to the groups with the largest remainders (ties: the earlier group), so no group gets more than it holds.
 */
function allocate(k: number, groups: readonly (readonly [string, number])[]): Map<string, number> {
  const n = groups.reduce((sum, [, size]) => sum + size, 0);
  const shares = groups.map(([a, size], order) => ({ a, order, size: Math.floor((k * size) / n), remainder: (k * size) % n }));
  const left = k - shares.reduce((sum, share) => sum + share.size, 0);
  for (const share of [...shares].sort((x, y) => y.remainder - x.remainder || x.order - y.order).slice(0, left)) share.size += 1;
  return new Map(shares.map(({ a, size }) => [a, size]));
}

/**
 * The rate at which one aggregator's clients were sampled, to an observer who knows how many of its `candidates`
 * were sampled (`sampled`) and is (or colludes with) c clients, all of them, at worst, among its candidates and
 * left out of the sample: min(1, sampled / (candidates - c)).
 */
function shardSampleRate(sampled: number, candidates: number, colluding: number): number {
  return candidates - colluding <= sampled ? 1 : sampled / (candidates - colluding);
}

/**
 * Milliseconds between the coordinator's looks at the heartbeats of the aggregators a round still waits for (their
 * partials, reports or sums): a dead one's clients are dropouts this long after its heartbeat lapses. Everything
 * else wakes the coordinator by an event (check-ins between rounds, partials, reports, sums).
 */
const HEARTBEAT_CHECK_MS = 200;

function readMs(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : assertInteger(name, value, 1, 2 ** 31 - 1);
}

// ============================================================================== the coordinator

/** Options of {@link createCoordinator}. */
export interface CoordinatorOptions {
  /** The Redis URL (redis:// or rediss://, with credentials where Redis requires them). */
  redis: string;
  /** The task to run (resumed from the ledger when the data directory already holds it). */
  task: TaskOptions;
  /** Directory of the SQLite ledger; default './data'. */
  dataDir?: string;
  /** Milliseconds of the coordinator lease (its TTL); default 5000. A crashed coordinator's successor waits up to this long. */
  leaseMs?: number;
  /** Milliseconds past trainMs the coordinator waits for living aggregators' partial sums; default 2000. */
  graceMs?: number;
  /** The noise's random generator; default a fresh CSPRNG. A seeded one (createRng({ seed })) is for tests only. */
  rng?: Rng;
}

/** The round in flight at the coordinator. */
type CoordinatorRound = {
  round: number;
  sampledPerAggregator: Map<string, number>;
  deadline: number;
} & (
  | { kind: 'central'; event: PrivacyEvent }
  | {
      kind: 'secagg';
      /** Each sampled aggregator's clients' sampling rate, given its public sampled count (shardSampleRate). */
      sampleRates: Map<string, number>;
      rotationSeed: Uint8Array;
      /** Once charged: the shards admitted to unmasking, with their survivors. */
      admitted: Map<string, number> | undefined;
    }
);

/**
 * The coordinator of a task scaled out over Redis (see {@link createCoordinator}): it holds the
 * ledger, samples the clients of all aggregators, merges their partial sums, adds the noise and
 * publishes the models. It serves no clients itself.
 */
export class ClusterCoordinator {
  /** Who the task's epsilon holds for. */
  readonly observer: string;
  /** Resolves with the final status once the task has finished; rejects when the coordinator stops on an error (e.g. its lease lapsed). */
  readonly finished: Promise<TaskStatus>;

  readonly #task: ResolvedTask;
  readonly #ledger: Ledger;
  readonly #status: StatusCache;
  readonly #redis: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #keys: TaskKeys;
  readonly #lease: Lease;
  readonly #graceMs: number;
  readonly #aggregator: CentralDpAggregator;
  readonly #integers = new UniformIntegers(createRng());
  readonly #accountant = new RdpAccountant();
  /** Secure aggregation: the same charges without sampling (an aggregator knows who its shard's clients were). */
  readonly #serverAccountant = new RdpAccountant();
  readonly #plan: DistributedDpPlan | undefined;
  /** Secure aggregation: the clients whose key (hex) the ledger binds to them, as seen so far (each read from the ledger once). */
  readonly #bound = new Map<string, string>();
  /** Secure aggregation: the clients the ledger bans (loaded at start, then as this coordinator bans them). */
  readonly #banned = new Set<string>();
  readonly #published: PublishedTask;
  /** Renews the lease every leaseMs / 5 (and catches a check-in event missed between rounds). */
  readonly #renewal: ReturnType<typeof setInterval>;
  /** A round's next look at the heartbeats it waits on, or its deadline. */
  #heartbeatLook: ReturnType<typeof setTimeout> | undefined;
  #params: Float32Array;
  #modelVersion: number;
  #checkedIn = 0;
  #round: CoordinatorRound | undefined;
  #finishedBy: FinishedBy | undefined;
  #running = false;
  #again = false;
  #closing = false;
  #resolveFinished!: (status: TaskStatus) => void;
  #rejectFinished!: (error: unknown) => void;

  /** @internal use {@link createCoordinator}. */
  constructor(parts: { task: ResolvedTask; ledger: Ledger; redis: RedisClient; subscriber: RedisClient; lease: Lease; graceMs: number; rng: Rng }) {
    this.#task = parts.task;
    this.#ledger = parts.ledger;
    this.#redis = parts.redis;
    this.#subscriber = parts.subscriber;
    this.#keys = taskKeys(parts.task.id);
    this.#lease = parts.lease;
    this.#graceMs = parts.graceMs;
    this.finished = new Promise((resolve, reject) => {
      this.#resolveFinished = resolve;
      this.#rejectFinished = reject;
    });
    this.finished.catch(() => undefined); // observed by whoever awaits it
    const task = this.#task;
    this.#aggregator = new CentralDpAggregator({ dimension: task.model.paramCount, clipNorm: task.clipNorm, noiseMultiplier: task.noiseMultiplier, rng: parts.rng });
    this.#published = {
      model: task.model.spec as WireModelSpec,
      paramCount: task.model.paramCount,
      local: task.local,
      clipNorm: task.clipNorm,
      trainMs: task.trainMs,
      aggregator: task.aggregator,
      ...(task.aggregator === 'secagg'
        ? { secagg: { clientsPerRound: task.clientsPerRound, minUpdates: task.minUpdates, noiseMultiplier: task.noiseMultiplier, bits: task.bits, neighbours: task.neighbours, phaseMs: task.phaseMs } }
        : {}),
    };
    this.#plan = task.aggregator === 'secagg' ? planOf(this.#published) : undefined;
    this.observer = task.aggregator === 'secagg' ? SECAGG_OBSERVER : OBSERVER;
    this.#status = new StatusCache(parts.ledger, task, this.observer);
    for (const { event } of this.#ledger.charges(task.id)) this.#charge(event);
    for (const { clientId } of this.#ledger.bans(task.id)) this.#banned.add(clientId);
    this.#ledger.initModel(task.id, task.model.initParams());
    const latest = this.#ledger.latestModel(task.id)!;
    this.#params = latest.params;
    this.#modelVersion = latest.version;
    this.#renewal = setInterval(() => void this.#renewLease(), Math.max(1, Math.floor(parts.lease.ttlMs / 5)));
  }

  /** @internal publishes the task and the model, then starts the rounds. */
  async start(aborted: number[]): Promise<void> {
    const task = this.#task;
    const published = this.#published;
    const clients = this.#ledger.clients(task.id);
    for (let i = 0; i < clients.length; i += 1000) {
      const chunk = clients.slice(i, i + 1000);
      await this.#redis.hSet(this.#keys.tokens, chunk.flatMap((c) => [toHex(c.tokenHash), c.clientId]));
      if (this.#plan === undefined) continue;
      // the ledger's key bindings and bans win over whatever Redis holds (Redis may have been emptied)
      const keys = chunk.flatMap((c) => {
        const key = this.#ledger.signingKey(task.id, c.clientId);
        return key === undefined ? [] : [[c.clientId, toHex(key)] as const];
      });
      const bans = chunk.flatMap((c) => {
        const ban = this.#ledger.ban(task.id, c.clientId);
        return ban === undefined ? [] : [c.clientId, banValue(ban.round, ban.reason)];
      });
      if (keys.length > 0) {
        await this.#redis.hSet(this.#keys.keys, keys.flat());
        await this.#redis.hSet(this.#keys.owners, keys.flatMap(([id, key]) => [key, id]));
      }
      if (bans.length > 0) await this.#redis.hSet(this.#keys.bans, bans);
    }
    const last = aborted.at(-1);
    await this.#act([
      ['SET', { key: this.#keys.task }, JSON.stringify(published)],
      ...this.#modelCommands(),
      ['DEL', { key: this.#keys.round }, { key: this.#keys.finished }],
      // the round a previous coordinator left in flight is aborted (ledger rule 3): aggregators drop it
      ...(last === undefined ? [] : [['PUBLISH', { key: this.#keys.events }, `result ${JSON.stringify(this.#result(last, 'aborted', 0))}`]]),
    ]);
    await this.#subscriber.subscribe(this.#keys.wakeups, (message) => {
      // check-ins matter only between rounds (clients check in again as soon as they upload: no wake-up per batch mid-round)
      if ((message === 'checkin' && this.#round === undefined) || message.startsWith('part ')) this.#wake();
    });
    this.#wake();
  }

  /** Epsilon charged so far at the task's delta (0 before any charge). */
  get epsilon(): number {
    return this.#ledger.charges(this.#task.id).length === 0 ? 0 : this.#accountant.getEpsilon(this.#task.delta).epsilon;
  }

  /** The latest released model parameters (a copy). */
  get params(): Float32Array {
    return this.#params.slice();
  }

  /**
   * Enrols a new client of the task (in the ledger and in Redis, where aggregators check tokens) and returns its
   * bearer token. Secure aggregation: `options.signingPublicKey` (a 32-byte Ed25519 public key) binds the client's
   * signing key with its token, for good, as PrivkitServer.issueTokens' signingPublicKeys does: whoever reads the
   * token off the network before its client enrols can not bind another key to the client.
   *
   * @throws {PrivkitError} E_ARG (as a rejection) when signingPublicKey is given for a task without secure
   * aggregation, is not a 32-byte Uint8Array, or is already bound to a client (nothing is stored then).
   */
  async issueToken(options?: { signingPublicKey?: Uint8Array }): Promise<IssuedToken> {
    const given = readOptions(options, ['signingPublicKey'], 'options', true).signingPublicKey;
    const key = readSigningKeys(1, given === undefined ? undefined : [given], this.#plan !== undefined)?.[0];
    const rng = createRng();
    const clientId = `c-${Buffer.from(rng.bytes(9)).toString('base64url')}`;
    const token = Buffer.from(rng.bytes(32)).toString('base64url');
    const hash = tokenHash(token);
    this.#ledger.addClients(this.#task.id, [{ clientId, tokenHash: hash, ...(key === undefined ? {} : { signingPublicKey: key }) }]);
    if (key !== undefined) {
      // bound in Redis before the token is usable (the ledger's binding wins over whatever Redis holds, as at start)
      await this.#redis.hSet(this.#keys.keys, clientId, toHex(key));
      await this.#redis.hSet(this.#keys.owners, toHex(key), clientId);
    }
    await this.#redis.hSet(this.#keys.tokens, toHex(hash), clientId);
    return { clientId, token };
  }

  /** Steps the accountants with a charged event (secure aggregation: the aggregators' without sampling). */
  #charge(event: PrivacyEvent): void {
    this.#accountant.step(event);
    if (this.#plan !== undefined) this.#serverAccountant.step({ ...(event as DistributedDiscreteGaussianEvent), sampleRate: 1 });
  }

  /** The task's state (checkedIn: the living aggregators' check-ins at the coordinator's last look). */
  status(): TaskStatus {
    return this.#status.status({
      state: this.#finishedBy !== undefined ? 'finished' : this.#round !== undefined ? 'training' : 'waiting',
      finishedBy: this.#finishedBy,
      modelVersion: this.#modelVersion,
      checkedIn: this.#checkedIn,
      epsilon: this.epsilon,
      epsilonAgainstServer: this.#plan === undefined ? undefined : this.#ledger.charges(this.#task.id).length === 0 ? 0 : this.#serverAccountant.getEpsilon(this.#task.delta).epsilon,
    });
  }

  /** Stops the coordinator: releases its lease and closes the ledger. A round in flight is aborted at the next start. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#renewal);
    clearTimeout(this.#heartbeatLook);
    while (this.#running) await sleep(5); // let a step finish its ledger transaction
    await this.#lease.release().catch(() => undefined);
    this.#subscriber.destroy();
    this.#redis.destroy();
    this.#ledger.close();
  }

  // ------------------------------------------------------------------------------------ the loop

  /** Runs steps one at a time; a wake-up during a step runs another after it. */
  #wake(): void {
    if (this.#closing) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void (async () => {
      try {
        do {
          this.#again = false;
          await this.#step();
        } while (this.#again && !this.#closing);
      } catch (error) {
        this.#running = false;
        await this.#stop(error);
      } finally {
        this.#running = false;
      }
    })();
  }

  /** Conservative: stops acting; a restart on the ledger aborts the round in flight (its charge stays). */
  async #stop(error: unknown): Promise<void> {
    this.#rejectFinished(error);
    await this.close();
  }

  /**
   * Keeps the lease (a coordinator whose lease lapsed, or that cannot reach Redis, stops); between rounds it also
   * takes a look at the check-ins, in case a check-in event was lost while the subscriber reconnected.
   */
  async #renewLease(): Promise<void> {
    if (this.#closing) return;
    try {
      if (!(await this.#lease.renew())) throw new PrivkitError('E_PROTOCOL', `the coordinator lease of task ${this.#task.id} lapsed and was taken over`, { argument: 'leaseMs' });
    } catch (error) {
      if (!this.#closing) await this.#stop(error);
      return;
    }
    if (this.#round === undefined) this.#wake();
  }

  async #step(): Promise<void> {
    if (this.#closing || this.#finishedBy !== undefined) return;
    const round = this.#round;
    if (round === undefined) await this.#maybeStartRound();
    else await this.#maybeFinishRound(round);
    const waiting = this.#round;
    if (waiting !== undefined && !this.#closing) {
      // a round in flight (opened, waiting, or admitted): its aggregators' writes wake the coordinator; in case one
      // dies without writing, a look at the heartbeats every HEARTBEAT_CHECK_MS, and one at the deadline
      clearTimeout(this.#heartbeatLook);
      this.#heartbeatLook = setTimeout(() => this.#wake(), Math.max(0, Math.min(HEARTBEAT_CHECK_MS, waiting.deadline - Date.now())));
    }
  }

  /** A fenced write; a coordinator that lost its lease stops. */
  async #act(commands: FencedArg[][]): Promise<void> {
    if (!(await this.#lease.run(commands))) throw new PrivkitError('E_PROTOCOL', `the coordinator lease of task ${this.#task.id} was taken over`, { argument: 'leaseMs' });
  }

  #modelCommands(): FencedArg[][] {
    const p = this.#params;
    return [['HSET', { key: this.#keys.model }, 'version', this.#modelVersion, 'params', { bytes: Buffer.from(p.buffer, p.byteOffset, p.byteLength) }]];
  }

  #result(round: number, status: RoundStatus, included: number): PublishedResult {
    return { round, status, included, modelVersion: this.#modelVersion, epsilon: this.epsilon };
  }

  async #checkFinished(): Promise<boolean> {
    const end = endOfTask(this.#task, this.#ledger.rounds(this.#task.id));
    if (end !== undefined) await this.#finish(end);
    return this.#finishedBy !== undefined;
  }

  async #finish(by: FinishedBy): Promise<void> {
    await this.#act([
      ['SET', { key: this.#keys.finished }, by],
      ['PUBLISH', { key: this.#keys.events }, 'finished'],
    ]);
    this.#finishedBy = by;
    this.#resolveFinished(this.status());
  }

  async #maybeStartRound(): Promise<void> {
    if (await this.#checkFinished()) return;
    const task = this.#task;
    // the check-ins of living aggregators, in a fixed order before sampling
    const checkins = await this.#redis.hGetAll(this.#keys.checkins);
    const aggregators = [...new Set(Object.values(checkins))];
    const beats = await Promise.all(aggregators.map((a) => this.#redis.exists(this.#keys.alive(a))));
    const alive = new Set(aggregators.filter((_, i) => beats[i] === 1));
    let candidates = Object.keys(checkins).filter((id) => alive.has(checkins[id]!));
    if (this.#plan !== undefined) candidates = await this.#bindKeys(candidates);
    const n = candidates.length;
    this.#checkedIn = n;
    if (n < task.minCheckIns) return;
    // stratified: each aggregator's share of the sample is fixed by the counts (k n_a / n, rounded), then drawn uniformly
    // among its candidates, so that every aggregator's clients are sampled at about k / n (see the header)
    const byAggregator = new Map<string, string[]>();
    for (const id of candidates) {
      const ids = byAggregator.get(checkins[id]!);
      if (ids === undefined) byAggregator.set(checkins[id]!, [id]);
      else ids.push(id); // not a copy per id: n^2 / A copies at n = 1,000 cost the coordinator milliseconds a round
    }
    const perAggregator = new Map<string, string[]>();
    for (const [a, size] of allocate(task.clientsPerRound, [...byAggregator].map(([a, ids]) => [a, ids.length] as const))) {
      const ids = byAggregator.get(a)!;
      if (size > 0) perAggregator.set(a, fixedSizeSample(ids.length, size, this.#integers).map((i) => ids[i]!));
    }
    const sampled = [...perAggregator.values()].flat();
    const candidatesPerAggregator = new Map([...byAggregator].map(([a, ids]) => [a, ids.length]));
    // the sampled count of each aggregator is public (its clients leave its check-ins; a shard's release or withholding
    // shows in the round's count): given it, an aggregator's clients were sampled at their own rate (see the header)
    const rate = (a: string) => shardSampleRate(perAggregator.get(a)!.length, candidatesPerAggregator.get(a)!, task.colludingClients);
    // secure aggregation: the costliest round is charged for the fewest noisy survivors a shard is unmasked with, and
    // only a shard with minUpdates sampled clients can be unmasked
    const admissible = [...perAggregator.keys()].filter((a) => this.#plan === undefined || perAggregator.get(a)!.length >= task.minUpdates);
    const sampleRate = Math.max(0, ...admissible.map(rate));
    const event =
      admissible.length === 0
        ? undefined
        : this.#plan === undefined
          ? centralRoundEvent(this.#aggregator, sampleRate, 'without-replacement')
          : this.#shardEvent(task.minUpdates, admissible.length, sampleRate);
    if (event !== undefined && task.targetEpsilon !== undefined && !(this.#accountant.clone().step(event).getEpsilon(task.delta).epsilon <= task.targetEpsilon)) {
      await this.#finish('budget');
      return;
    }
    const roundNumber = this.#ledger.nextRound(task.id);
    this.#ledger.openRound(task.id, roundNumber, n, task.clientsPerRound);
    // each aggregator's part of the sample and its candidates' count (what the per-shard rates are computed from)
    const samples = [...perAggregator].flatMap(([a, ids]) => [`s:${a}`, ids.join(','), `n:${a}`, candidatesPerAggregator.get(a)!]);
    const rotationSeed = createRng().bytes(32);
    await this.#act([
      ['DEL', { key: this.#keys.round }, { key: this.#keys.part(roundNumber) }],
      ['HSET', { key: this.#keys.round }, 'round', roundNumber, 'fence', this.#lease.token, 'version', this.#modelVersion, 'trainMs', task.trainMs, 'rot', toHex(rotationSeed), ...samples],
      ['HDEL', { key: this.#keys.checkins }, ...sampled],
      ['SET', { key: this.#keys.opened }, roundNumber],
      ['PUBLISH', { key: this.#keys.events }, `round ${roundNumber}`],
    ]);
    const sampledPerAggregator = new Map([...perAggregator].map(([a, ids]) => [a, ids.length]));
    this.#round =
      this.#plan === undefined
        ? { kind: 'central', round: roundNumber, event: event!, sampledPerAggregator, deadline: Date.now() + task.trainMs + this.#graceMs }
        : {
            kind: 'secagg',
            round: roundNumber,
            sampleRates: new Map([...perAggregator.keys()].map((a) => [a, rate(a)])),
            rotationSeed,
            admitted: undefined,
            sampledPerAggregator,
            // the shards' phases up to the end of their consistency checks
            deadline: Date.now() + task.trainMs + 3 * task.phaseMs + this.#graceMs,
          };
  }

  /**
   * Secure aggregation: the candidates whose Ed25519 keys (enrolled through aggregators into Redis) are
   * bound to them in the ledger, for good, and who are not banned; a key the ledger binds to another
   * client (Redis written behind the coordinator's back) leaves its client out.
   */
  async #bindKeys(candidates: string[]): Promise<string[]> {
    if (candidates.length === 0) return candidates;
    const [keys, bans] = await Promise.all([this.#redis.hmGet(this.#keys.keys, candidates), this.#redis.hmGet(this.#keys.bans, candidates)]);
    const usable = candidates.map((clientId, i) => (keys[i] == null || bans[i] != null || this.#banned.has(clientId) ? undefined : keys[i]!));
    // the ledger is read and written once per client and key, at first sight: a key it bound to this client before is known here
    const fresh = candidates.flatMap((clientId, i) => {
      const key = usable[i];
      return key === undefined || this.#bound.get(clientId) === key ? [] : [{ clientId, key, publicKey: new Uint8Array(Buffer.from(key, 'hex')) }];
    });
    const outcomes = this.#ledger.enrolSigningKeys(this.#task.id, fresh);
    for (const [i, { clientId, key }] of fresh.entries()) if (outcomes[i] !== 'other') this.#bound.set(clientId, key);
    return candidates.filter((clientId, i) => usable[i] !== undefined && this.#bound.get(clientId) === usable[i]);
  }

  async #maybeFinishRound(round: CoordinatorRound): Promise<void> {
    if (round.kind === 'secagg') return this.#maybeFinishSecAgg(round);
    const written = new Set(await this.#redis.hKeys(this.#keys.part(round.round))); // names only: the sums are read once, at the end
    const pending = [...round.sampledPerAggregator.keys()].filter((a) => !written.has(a));
    if (await this.#waitFor(pending, round.deadline)) return;
    await this.#finishRound(round, [...written].filter((a) => round.sampledPerAggregator.has(a)));
  }

  /**
   * Whether to wait on: an aggregator is pending, the deadline has not passed and one of them is alive;
   * or the coordinator is closing (it decides nothing more: the round is aborted at the next start).
   */
  async #waitFor(pending: string[], deadline: number): Promise<boolean> {
    if (pending.length > 0 && Date.now() < deadline) {
      const beats = await Promise.all(pending.map((a) => this.#redis.exists(this.#keys.alive(a))));
      if (beats.some((b) => b === 1)) return true; // a living aggregator is still collecting
    }
    return this.#closing;
  }

  async #finishRound(round: CoordinatorRound & { kind: 'central' }, written: string[]): Promise<void> {
    const task = this.#task;
    const d = task.model.paramCount;
    const parts = (await Promise.all(written.map((a) => binary(this.#redis).hGet(this.#keys.part(round.round), a)))) as unknown as (Buffer | null)[];
    if (this.#closing) return; // decided by the next start: aborted
    // the partials this round counts: one per sampled aggregator, well-formed, with no more updates than it was sampled
    const counted: Float64Array[] = [];
    for (const [i, a] of written.entries()) {
      const bytes = parts[i];
      const sampled = round.sampledPerAggregator.get(a)!;
      if (bytes == null || bytes.byteLength !== 8 * (d + 1)) continue;
      const partial = new Float64Array(new Uint8Array(bytes).buffer); // own, aligned copy
      const count = partial[0]!;
      if (Number.isInteger(count) && count >= 0 && count <= sampled) counted.push(partial);
    }
    const included = counted.reduce((n, p) => n + p[0]!, 0);
    if (included < task.minUpdates) {
      this.#ledger.withholdRound(task.id, round.round, included);
      return this.#endRound(round.round, 'withheld', included);
    }
    const after = this.#accountant.clone().step(round.event);
    this.#ledger.chargeRound(task.id, round.round, round.event, after.getEpsilon(task.delta).epsilon); // ledger rule 1: charge, then compute
    this.#charge(round.event);
    const total = new Float64Array(d);
    for (const partial of counted) for (let j = 0; j < d; j++) total[j] += partial[j + 1]!;
    await this.#release(round.round, included, this.#aggregator.noisedSum(total)); // the noise, once
  }

  /**
   * A secure-aggregation round. Stage 1: every sampled shard reports its survivors once its consistency
   * check closed (0: withheld), or is dead, or the deadline passed; the shards below minUpdates are
   * withheld. If any is left, the round is charged for the smallest survivor count among them (less
   * the colluding clients) BEFORE the coordinator admits them to unmasking. Stage 2: the admitted
   * shards' unmasked sums are added mod 2^bits and released; a shard that fails or dies after its
   * admission is left out (the charge covers every admitted shard's sum), and a round with no sum
   * left is aborted, its charge kept.
   */
  async #maybeFinishSecAgg(round: CoordinatorRound & { kind: 'secagg' }): Promise<void> {
    const task = this.#task;
    const aggregators = [...round.sampledPerAggregator.keys()];
    const written = new Set(await this.#redis.hKeys(this.#keys.part(round.round))); // names only: the sums are read once, at the end
    if (round.admitted === undefined) {
      const pending = aggregators.filter((a) => !written.has(`r:${a}`));
      if (await this.#waitFor(pending, round.deadline)) return;
      const reports = await this.#redis.hmGet(this.#keys.part(round.round), aggregators.map((a) => `r:${a}`));
      if (this.#closing) return; // decided by the next start: aborted
      const admitted = new Map<string, number>();
      for (const [i, a] of aggregators.entries()) {
        const survivors = Number(reports[i] ?? 0);
        if (Number.isInteger(survivors) && survivors >= task.minUpdates && survivors <= round.sampledPerAggregator.get(a)!) admitted.set(a, survivors);
      }
      if (admitted.size === 0) {
        this.#ledger.withholdRound(task.id, round.round, 0);
        return this.#endRound(round.round, 'withheld', 0);
      }
      // Rule 1: charged before any shard is unmasked. Each client's update is in one shard's sum; the costliest is the
      // one with the fewest noisy survivors (the c colluding clients know their own noise: not counted).
      const sampleRate = Math.max(...[...admitted.keys()].map((a) => round.sampleRates.get(a)!));
      const event = this.#shardEvent(Math.min(...admitted.values()), admitted.size, sampleRate);
      this.#ledger.chargeRound(task.id, round.round, event, this.#accountant.clone().step(event).getEpsilon(task.delta).epsilon);
      this.#charge(event);
      round.admitted = admitted;
      round.deadline = Date.now() + task.phaseMs + this.#graceMs;
      await this.#act([
        ['HSET', { key: this.#keys.round }, 'admit', [...admitted.keys()].join(',')],
        ['PUBLISH', { key: this.#keys.events }, `admit ${round.round}`],
      ]);
      return;
    }
    const pending = [...round.admitted.keys()].filter((a) => !written.has(`s:${a}`));
    if (await this.#waitFor(pending, round.deadline)) return;
    const plan = this.#plan!;
    const words = plan.dimension;
    const modulus = 2 ** plan.bits;
    const total = new Uint32Array(words);
    let included = 0;
    for (const [a, survivors] of round.admitted) {
      const bytes = (await binary(this.#redis).hGet(this.#keys.part(round.round), `s:${a}`)) as unknown as Buffer | null;
      if (bytes == null || bytes.byteLength !== 4 * (words + 1)) continue; // failed, died or malformed: left out
      const shard = new Uint32Array(new Uint8Array(bytes).buffer); // own, aligned copy
      // the sum of exactly the survivors it was charged and admitted with (SecAgg+ sums its whole survivor set): fewer
      // would carry less noise than the charge counts
      if (shard[0]! !== survivors || shard.subarray(1).some((v) => v >= modulus)) continue;
      included += shard[0]!;
      for (let j = 0; j < words; j++) total[j] = (total[j]! + shard[j + 1]!) % modulus;
    }
    await this.#banConvicted(round.round);
    if (included === 0) {
      this.#ledger.abortRound(task.id, round.round, [...round.admitted.values()].reduce((x, y) => x + y, 0)); // rule 5: the charge stays
      return this.#endRound(round.round, 'aborted', 0);
    }
    const sum = inverseRandomizedHadamard(dequantize(total, { scale: plan.scale, bits: plan.bits }), round.rotationSeed, task.model.paramCount);
    await this.#release(round.round, included, sum);
  }

  /** The charge of a secure-aggregation round whose smallest of `shards` shards has `survivors` survivors (see the file header). */
  #shardEvent(survivors: number, shards: number, sampleRate: number): PrivacyEvent {
    const plan = this.#plan!;
    const event = plan.event({ clients: Math.max(1, survivors - this.#task.colludingClients), sampleRate, sampling: 'without-replacement' });
    return { ...event, dimension: plan.dimension * Math.max(1, shards) };
  }

  /** Stores the bans aggregators reported (convicted dealers, discarded holders) in the ledger, for good. */
  async #banConvicted(round: number): Promise<void> {
    for (const [clientId, value] of Object.entries(await this.#redis.hGetAll(this.#keys.bans))) {
      if (this.#banned.has(clientId)) continue;
      const ban = readBan(value, round);
      this.#ledger.banClient(this.#task.id, clientId, ban.round, ban.reason);
      this.#banned.add(clientId);
    }
  }

  /** Steps the model by eta / k x the round's noised sum and releases it (ledger rule 2, before publishing). */
  async #release(round: number, included: number, sum: ArrayLike<number>): Promise<void> {
    const task = this.#task;
    const next = this.#params.slice();
    const step = task.serverLearningRate / task.clientsPerRound; // FedAvg's fixed denominator under DP
    for (let j = 0; j < next.length; j++) next[j] += step * sum[j]!;
    this.#modelVersion = this.#ledger.releaseRound(task.id, round, included, next);
    this.#params = next;
    await this.#endRound(round, 'released', included, this.#modelCommands());
  }

  /** Publishes a round's outcome (with the model commands of a release) and moves on. */
  async #endRound(round: number, status: RoundStatus, included: number, commands: FencedArg[][] = []): Promise<void> {
    this.#round = undefined;
    await this.#act([
      ...commands,
      ['DEL', { key: this.#keys.round }, { key: this.#keys.part(round) }],
      ['PUBLISH', { key: this.#keys.events }, `result ${JSON.stringify(this.#result(round, status, included))}`],
    ]);
    this.#again = true; // the next round, or the end
  }
}

/**
 * Starts the coordinator of a task scaled out over Redis: takes the task's coordinator lease (waiting
 * up to leaseMs for a crashed predecessor's to lapse), opens the SQLite ledger under `dataDir`
 * (resuming the task when present) and publishes the task for aggregators
 * ({@link createAggregator}). See the header of src/server/cluster.ts for the round and the trust model.
 *
 * @example
 * ```ts
 * import { createCoordinator } from 'privkit/server';
 * const started = await createCoordinator({
 *   redis: 'redis://127.0.0.1:9', // no Redis on port 9: refused
 *   dataDir: './data',
 *   task: { id: 'demo', model: { type: 'softmax-regression', inputs: 4, classes: 2 }, rounds: 3, clientsPerRound: 2,
 *     local: { epochs: 1, batchSize: 2, learningRate: 0.1 }, clipNorm: 1, noiseMultiplier: 1 },
 * }).catch((error) => error.code);
 * console.log(started); // 'E_ARG'
 * ```
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when an option is out of range (the message names it), Redis cannot be reached, another coordinator holds the task's lease, the data directory holds a different task of the same id, or redis / better-sqlite3 is not installed.
 */
export async function createCoordinator(given: CoordinatorOptions): Promise<ClusterCoordinator> {
  const options = readOptions(given, ['redis', 'task', 'dataDir', 'leaseMs', 'graceMs', 'rng'], 'options', true) as CoordinatorOptions;
  await ready();
  const task = resolveTask(options.task);
  if (task.aggregator === 'secagg' && options.task.minUpdates === undefined) {
    // one-process servers default it to clientsPerRound; a shard holds a part of the sample
    throw new PrivkitError('E_ARG', 'options.task.minUpdates must be given for a secure-aggregation task scaled out over Redis: it is each shard\'s minimum', { argument: 'options.task.minUpdates' });
  }
  const leaseMs = readMs('options.leaseMs', options.leaseMs, 5000);
  const graceMs = readMs('options.graceMs', options.graceMs, 2000);
  if (options.rng !== undefined && !isRng(options.rng)) throw new PrivkitError('E_ARG', `options.rng must be an Rng from createRng(), got ${describe(options.rng)}`, { argument: 'options.rng' });
  const rng = options.rng ?? createRng();
  const redis = await connectRedis(options.redis, 'options.redis');
  const keys = taskKeys(task.id);
  const lease = new Lease(redis, keys, leaseMs);
  let ledger: Ledger | undefined;
  let subscriber: RedisClient | undefined;
  let coordinator: ClusterCoordinator | undefined;
  try {
    if (!(await lease.acquire(leaseMs))) {
      throw new PrivkitError('E_ARG', `another coordinator holds the lease of task ${task.id} in Redis`, { argument: 'options.redis' });
    }
    ledger = new Ledger(options.dataDir ?? './data');
    const spec = JSON.stringify({ ...task, model: task.model.spec });
    if (!ledger.ensureTask(task.id, spec)) {
      throw new PrivkitError('E_ARG', `the data directory holds a task ${task.id} with other settings: use another id or directory`, { argument: 'options.task' });
    }
    // Redis remembers the last round opened: a ledger that did not open it (another data directory, a lost one) would
    // charge the task from zero while the models released so far are public
    const opened = Number((await redis.get(keys.opened)) ?? 0);
    if (opened >= ledger.nextRound(task.id)) {
      throw new PrivkitError('E_ARG', `Redis shows round ${opened} of task ${task.id} opened, which this ledger never opened: start the coordinator on the ledger that ran the task`, {
        argument: 'options.dataDir',
      });
    }
    const aborted = ledger.recover(task.id); // ledger rule 3
    subscriber = redis.duplicate();
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    coordinator = new ClusterCoordinator({ task, ledger, redis, subscriber, lease, graceMs, rng });
    await coordinator.start(aborted);
    return coordinator;
  } catch (error) {
    if (coordinator !== undefined) await coordinator.close(); // releases the lease, closes the ledger and both connections
    else {
      ledger?.close();
      subscriber?.destroy();
      await lease.release().catch(() => undefined);
      redis.destroy();
    }
    throw error;
  }
}

// ============================================================================== an aggregator

/** Options of {@link createAggregator} (with the listening options port, host, helloMs, messagesPerSecond and maxUnauthenticated, as createServer's). */
export interface AggregatorOptions extends ListenOptions {
  /** The Redis URL the coordinator uses. */
  redis: string;
  /** The task's id; its coordinator must have published it (createCoordinator). */
  taskId: string;
  /** This aggregator's name in Redis (1-64 characters of [A-Za-z0-9_.-]); default a random one. Unique per living process. */
  id?: string;
  /** Milliseconds of the heartbeat's TTL: an aggregator silent this long is taken for dead; default 1500. */
  aliveMs?: number;
  /** Requests per second each remote address may make to its HTTP endpoint (its health); beyond it 429 with Retry-After. Default 10. */
  httpRequestsPerSecond?: number;
}

/** The round an aggregator is collecting. */
interface AggregatorRound {
  round: number;
  sampled: Set<string>;
  uploaded: Set<string>;
  sum: Float64Array;
  /** The round's task (its model), encoded once for every sampled client. */
  task: SharedFrame;
  timer: ReturnType<typeof setTimeout>;
  written: boolean;
}

/** A shard's SecAgg+ round at its aggregator (secure aggregation). */
interface ShardRound {
  round: number;
  runner: SecAggRound;
  /** Settles the charge hook's wait: true once the coordinator admitted this shard to unmasking, false when the round ended without. */
  admit: ((admitted: boolean) => void) | undefined;
  /** Whether the shard's survivors were reported (its consistency check closed). */
  reported: boolean;
}

const AGGREGATOR_ID = /^[A-Za-z0-9_.-]{1,64}$/;

// binds a key to a client once (KEYS[1] keys, KEYS[2] owners; ARGV[1] client, ARGV[2] key hex): 'enrolled' when stored
// now, 'same' when already this client's, 'other' (nothing changed) when the client has another key or the key another client
const ENROL = `local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then if current == ARGV[2] then return 'same' end return 'other' end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 'other' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 'enrolled'`;

// deletes a check-in only if it is this aggregator's (the client may have moved to another)
const CHECK_OUT = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0`;

/**
 * An aggregator process's share of a task scaled out over Redis (see {@link createAggregator}): it
 * serves its clients over WebSocket with privkit/server's wire protocol and bearer tokens, and sends
 * the coordinator the clipped partial sum of its sampled clients' updates.
 */
export class ClusterAggregator {
  /** This aggregator's name in Redis. */
  readonly id: string;
  /** The task it serves. */
  readonly taskId: string;
  /** The TCP port clients connect to. */
  readonly port: number;
  /** ws://host:port (wss:// with the tls option): what clients connect to. */
  readonly url: string;

  readonly #task: PublishedTask;
  readonly #redis: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #keys: TaskKeys;
  readonly #connections: Connections;
  readonly #aliveMs: number;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #checkedIn = new Set<string>();
  #model: { version: number; params: Float32Array } | undefined;
  #round: AggregatorRound | undefined;
  readonly #plan: DistributedDpPlan | undefined;
  #shard: ShardRound | undefined;
  /** Secure aggregation: the connections whose signed enrolment this aggregator accepted (only they may check in). */
  readonly #enrolled = new EnrolledConnections();
  #lastRound = 0;
  #fence = 0;
  readonly #pendingCheckIns = new Set<string>();
  #checkInFlush: ReturnType<typeof setTimeout> | undefined;
  #finished = false;
  #closing = false;

  /** @internal use {@link createAggregator}. */
  constructor(parts: {
    id: string;
    taskId: string;
    task: PublishedTask;
    keys: TaskKeys;
    redis: RedisClient;
    subscriber: RedisClient;
    connections: Connections;
    aliveMs: number;
    httpRequestsPerSecond: number;
  }) {
    this.id = parts.id;
    this.taskId = parts.taskId;
    this.#task = parts.task;
    this.#keys = parts.keys;
    this.#redis = parts.redis;
    this.#subscriber = parts.subscriber;
    this.#connections = parts.connections;
    this.#aliveMs = parts.aliveMs;
    this.#plan = parts.task.aggregator === 'secagg' ? planOf(parts.task) : undefined;
    this.port = parts.connections.port;
    this.url = parts.connections.url;
    this.#heartbeat = setInterval(() => void this.#beat(), Math.max(1, Math.floor(parts.aliveMs / 3)));
    // its health, to any peer (the checked-in count is public: see the header), each address rate-limited as createServer's endpoints
    const limiter = new AddressRateLimiter(parts.httpRequestsPerSecond);
    this.#connections.http.on('request', (req, res) => {
      if (!admitHttp(req, res, limiter)) return;
      sendJson(res, 200, JSON.stringify({ ok: true, aggregator: this.id, connections: this.#connections.size, checkedIn: this.#checkedIn.size }));
    });
    this.#connections.serve({
      authenticate: (token) => this.#authenticate(token),
      welcome: (connection) => this.#welcome(connection),
      check: (connection, id, message) => this.#check(connection, id, message),
      left: (id) => void (this.#checkedIn.delete(id) && this.#checkOut(id).catch(() => undefined)),
    });
  }

  /** @internal announces the aggregator and subscribes to the coordinator's events. */
  async start(): Promise<void> {
    await this.#beat();
    await this.#subscriber.subscribe(this.#keys.events, (message) => void this.#event(message).catch(() => undefined));
    await this.#syncRound();
  }

  /** Stops serving: withdraws its check-ins and heartbeat, closes every connection. Its sampled clients of a round in flight are dropouts. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#checkInFlush);
    if (this.#round !== undefined) clearTimeout(this.#round.timer);
    this.#shard?.admit?.(false);
    await this.#shard?.runner.stop();
    await this.#connections.close();
    await Promise.all([...this.#checkedIn].map((id) => this.#checkOut(id))).catch(() => undefined);
    await this.#redis.del(this.#keys.alive(this.id)).catch(() => undefined);
    this.#subscriber.destroy();
    this.#redis.destroy();
  }

  // ------------------------------------------------------------------------------------ Redis

  /** The heartbeat; it also catches a round or an end whose event this process missed. */
  async #beat(): Promise<void> {
    if (this.#closing) return;
    try {
      await this.#redis.set(this.#keys.alive(this.id), '1', { PX: this.#aliveMs });
      if ((await this.#redis.exists(this.#keys.finished)) === 1) this.#finish();
      else {
        await this.#syncRound();
        await this.#checkAdmission();
      }
    } catch {
      // Redis unreachable: the heartbeat lapses and the coordinator counts this aggregator's clients as dropouts
    }
  }

  async #event(message: string): Promise<void> {
    if (this.#closing) return;
    if (message.startsWith('round ')) await this.#syncRound();
    else if (message.startsWith('admit ')) await this.#checkAdmission();
    else if (message.startsWith('result ')) this.#result(JSON.parse(message.slice(7)) as PublishedResult);
    else if (message === 'finished') this.#finish();
  }

  /** Starts collecting the round the coordinator published, if it is new. */
  async #syncRound(): Promise<void> {
    const [round, fence, version, sample, rotation] = await this.#redis.hmGet(this.#keys.round, ['round', 'fence', 'version', `s:${this.id}`, 'rot']);
    if (round == null || fence == null || version == null) return;
    const r = Number(round);
    if (r <= this.#lastRound || Number(fence) < this.#fence || this.#closing) return; // seen, or from a coordinator whose lease is gone
    this.#lastRound = r;
    this.#fence = Number(fence);
    const sampled = new Set(sample == null || sample === '' ? [] : sample.split(','));
    if (sampled.size === 0) return;
    for (const id of sampled) this.#checkedIn.delete(id);
    await this.#loadModel(Number(version));
    if (this.#lastRound !== r) return; // a newer round arrived while the model loaded
    if (this.#plan !== undefined) return this.#startShard(r, [...sampled], new Uint8Array(Buffer.from(rotation ?? '', 'hex')));
    if (this.#round !== undefined) clearTimeout(this.#round.timer);
    const state: AggregatorRound = {
      round: r,
      sampled,
      uploaded: new Set(),
      sum: new Float64Array(this.#task.paramCount),
      task: new SharedFrame({ type: 'task', round: r, modelVersion: this.#model!.version, deadlineMs: this.#task.trainMs, params: this.#model!.params }),
      timer: setTimeout(() => void this.#writePartial(state), this.#task.trainMs),
      written: false,
    };
    this.#round = state;
    for (const id of sampled) {
      const connection = this.#connections.get(id);
      if (connection !== undefined) connection.send(state.task);
    }
  }

  async #loadModel(version: number): Promise<void> {
    if (this.#model?.version === version) return;
    const [storedVersion, params] = (await binary(this.#redis).hmGet(this.#keys.model, ['version', 'params'])) as unknown as (Buffer | null)[];
    if (storedVersion == null || params == null || Number(storedVersion.toString()) !== version || params.byteLength !== 4 * this.#task.paramCount) {
      throw new PrivkitError('E_PROTOCOL', `model version ${version} of task is not in Redis`, { argument: 'model' });
    }
    this.#model = { version, params: new Float32Array(new Uint8Array(params).buffer) };
  }

  /** Writes the round's partial sum: the count, then the float64 sum of the clipped updates. */
  async #writePartial(round: AggregatorRound): Promise<void> {
    if (round.written || this.#closing) return;
    round.written = true;
    clearTimeout(round.timer);
    const partial = new Float64Array(1 + round.sum.length);
    partial[0] = round.uploaded.size;
    partial.set(round.sum, 1);
    await this.#writePart(round.round, this.id, Buffer.from(partial.buffer));
  }

  /** Writes a field of the round's part hash and wakes the coordinator. */
  async #writePart(round: number, field: string, value: string | Buffer): Promise<void> {
    const key = this.#keys.part(round);
    await this.#redis
      .multi()
      .hSet(key, field, value)
      .pExpire(key, 10 * this.#task.trainMs + 60000) // a part nobody collects (its round was decided) does not stay
      .publish(this.#keys.wakeups, `part ${round} ${this.id}`)
      .exec();
  }

  // ------------------------------------------------------------------------------------ a shard (secure aggregation)

  /** Runs SecAgg+ among this aggregator's sampled clients; a shard that can not reach its minimum reports 0 survivors (withheld). */
  async #startShard(round: number, sampled: string[], rotationSeed: Uint8Array): Promise<void> {
    const previous = this.#shard;
    this.#shard = undefined;
    previous?.admit?.(false);
    await previous?.runner.stop();
    for (const id of sampled) this.#checkedIn.delete(id);
    const task = this.#task;
    const s = task.secagg!;
    const keys = await this.#redis.hmGet(this.#keys.keys, sampled);
    if (this.#lastRound !== round || this.#closing) return;
    const clients = sampled.flatMap((id, i) => (keys[i] == null ? [] : [{ id, signingPublicKey: new Uint8Array(Buffer.from(keys[i]!, 'hex')) }]));
    if (rotationSeed.length !== 32 || clients.length < secAggShape(clients.length, s.neighbours, s.minUpdates).minSurvivors) {
      // too few to reach the shard's minimum: withheld before it starts; its clients, never sent a task, stay checked in
      for (const id of sampled) {
        if (this.#connections.get(id) === undefined) continue;
        this.#checkedIn.add(id);
        this.#pendingCheckIns.add(id);
      }
      this.#checkInFlush ??= setTimeout(() => this.#flushCheckIns(), 10);
      return this.#writePart(round, `r:${this.id}`, '0');
    }
    const runner = new SecAggRound({
      round,
      clients,
      plan: this.#plan!,
      minUpdates: s.minUpdates,
      neighbours: s.neighbours,
      trainMs: task.trainMs,
      phaseMs: s.phaseMs,
      modelVersion: this.#model!.version,
      params: this.#model!.params,
      rotationSeed,
      connection: (id) => this.#connections.get(id),
      charge: (survivors) => this.#awaitAdmission(shard, survivors),
      convict: (culprits) => this.#convict(round, culprits),
      end: (outcome) => void this.#endShard(shard, outcome).catch(() => undefined),
    });
    const shard: ShardRound = { round, runner, admit: undefined, reported: false }; // the hooks above run once started
    this.#shard = shard;
    await shard.runner.start();
  }

  /** The charge hook of a shard: reports its survivors and waits for the coordinator to charge the round and admit it. */
  async #awaitAdmission(shard: ShardRound, survivors: number): Promise<boolean> {
    const admitted = new Promise<boolean>((resolve) => (shard.admit = resolve));
    shard.reported = true;
    await this.#writePart(shard.round, `r:${this.id}`, String(survivors));
    return admitted;
  }

  /** Settles a waiting shard once the coordinator's admission of its round is in Redis. */
  async #checkAdmission(): Promise<void> {
    const shard = this.#shard;
    if (shard?.admit === undefined) return;
    const [round, admit] = await this.#redis.hmGet(this.#keys.round, ['round', 'admit']);
    if (Number(round) !== shard.round || admit == null || shard.admit === undefined) return;
    shard.admit(admit.split(',').includes(this.id));
    shard.admit = undefined;
  }

  /** Sends the coordinator a shard's outcome: its sum (included, then the words), or that it failed. */
  async #endShard(shard: ShardRound, outcome: SecAggOutcome): Promise<void> {
    if (outcome.status === 'released') {
      const bytes = new Uint32Array(1 + outcome.sum.length);
      bytes[0] = outcome.included;
      bytes.set(outcome.sum, 1);
      return this.#writePart(shard.round, `s:${this.id}`, Buffer.from(bytes.buffer));
    }
    if (!shard.reported) return this.#writePart(shard.round, `r:${this.id}`, '0'); // withheld below its minimum
    if (outcome.status === 'aborted') return this.#writePart(shard.round, `s:${this.id}`, ''); // failed after its admission
  }

  /**
   * Bans convicted dealers and discarded holders (in Redis, where aggregators check hellos; the coordinator keeps
   * them in its ledger) and cuts them off.
   */
  #convict(round: number, culprits: readonly Culprit[]): void {
    void this.#redis.hSet(this.#keys.bans, culprits.flatMap(({ id, reason }) => [id, banValue(round, reason)])).catch(() => undefined);
    for (const { id, reason } of culprits) {
      if (this.#checkedIn.delete(id)) void this.#checkOut(id).catch(() => undefined);
      const connection = this.#connections.get(id);
      connection?.send({ type: 'error', code: 'E_AUTH', message: `${reason} in round ${round}: banned from the task`, refSeq: 0 });
      connection?.close(CLOSE_REFUSED, 'banned');
    }
  }

  #result(result: PublishedResult): void {
    const round = this.#round;
    if (round !== undefined && round.round <= result.round) {
      clearTimeout(round.timer);
      this.#round = undefined;
    }
    const shard = this.#shard;
    if (shard !== undefined && shard.round <= result.round) {
      shard.admit?.(false);
      void shard.runner.stop();
      this.#shard = undefined;
    }
    // a secure-aggregation client checks in again at a round's result, aborted ones too (as from the one-process server)
    if (result.status === 'aborted' && this.#plan === undefined) return;
    const message = new SharedFrame({ type: 'round-result', round: result.round, status: result.status, included: result.included, modelVersion: result.modelVersion, epsilon: result.epsilon });
    for (const connection of this.#connections.authenticated()) connection.send(message);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#checkedIn.clear();
    for (const connection of this.#connections.authenticated()) connection.close(CLOSE_FINISHED, 'task finished');
  }

  /** Registers the check-ins of the last 10 ms in one HSET and wakes the coordinator once (not one command and wake-up per client). */
  #flushCheckIns(): void {
    this.#checkInFlush = undefined;
    const fields = [...this.#pendingCheckIns].flatMap((id) => [id, this.id]);
    this.#pendingCheckIns.clear();
    if (fields.length === 0 || this.#closing) return;
    void this.#redis.multi().hSet(this.#keys.checkins, fields).publish(this.#keys.wakeups, 'checkin').exec().catch(() => undefined);
  }

  /** Withdraws a check-in: from the next batch, or from Redis (commands on one connection run in order). */
  async #checkOut(id: string): Promise<unknown> {
    if (this.#pendingCheckIns.delete(id)) return;
    return this.#redis.eval(CHECK_OUT, { keys: [this.#keys.checkins], arguments: [id, this.id] });
  }

  // ------------------------------------------------------------------------------------ clients

  /** Checks an authenticated client's message against the round; returns the state change to apply. */
  #check(connection: Connection, id: string, message: Message): () => void {
    const round = this.#round;
    switch (message.type) {
      case 'check-in': {
        if (this.#finished) throw new Refusal('E_PROTOCOL', 'the task has finished');
        if (this.#checkedIn.has(id)) throw new Refusal('E_PROTOCOL', 'already checked in');
        // a bearer token alone does not take a seat in secure aggregation: the connection must prove the client's key
        if (this.#plan !== undefined) this.#enrolled.assertSeat(connection);
        if (round !== undefined && !round.written && round.sampled.has(id) && !round.uploaded.has(id)) {
          throw new Refusal('E_PROTOCOL', `check-in while sampled for round ${round.round}: upload its update first`);
        }
        return () => {
          this.#checkedIn.add(id);
          connection.send({ type: 'checked-in', round: this.#lastRound + 1 });
          this.#pendingCheckIns.add(id);
          this.#checkInFlush ??= setTimeout(() => this.#flushCheckIns(), 10);
        };
      }
      case 'update': {
        if (round === undefined || message.round !== round.round || round.written) {
          throw new Refusal('E_PROTOCOL', `an update for round ${message.round} is out of phase (round in training: ${round !== undefined && !round.written ? round.round : 'none'})`);
        }
        if (!round.sampled.has(id)) throw new Refusal('E_PROTOCOL', `client was not sampled for round ${round.round}`);
        if (round.uploaded.has(id)) throw new Refusal('E_PROTOCOL', `a second update for round ${round.round}`);
        if (message.delta.length !== this.#task.paramCount) throw new Refusal('E_PROTOCOL', `an update of ${message.delta.length} values; the model has ${this.#task.paramCount}`);
        let clipped: Float32Array;
        try {
          clipped = clipByL2(message.delta, 1, this.#task.clipNorm); // CentralDpAggregator's clipping
        } catch (error) {
          throw new Refusal('E_PROTOCOL', `an update that cannot be clipped: ${(error as Error).message}`);
        }
        return () => {
          round.uploaded.add(id);
          for (let j = 0; j < clipped.length; j++) round.sum[j] += clipped[j]!;
          if (round.uploaded.size === round.sampled.size) void this.#writePartial(round).catch(() => undefined);
        };
      }
      case 'enrol':
        return this.#checkEnrol(connection, id, message);
      case 'secagg': {
        const shard = this.#shard;
        if (shard === undefined) throw new Refusal('E_PROTOCOL', `a secure-aggregation message for round ${message.round} is out of phase`);
        return shard.runner.check(connection, id, message);
      }
      default:
        throw new Refusal('E_PROTOCOL', `a ${message.type} message is sent by the server, not to it`);
    }
  }

  /** Enrol: a 32-byte Ed25519 key, signed over (task, client, key, this connection's challenge), bound in Redis once per client and key (ENROL). */
  #checkEnrol(connection: Connection, id: string, message: Extract<Message, { type: 'enrol' }>): () => void {
    if (this.#plan === undefined) throw new Refusal('E_PROTOCOL', 'this task does not use secure aggregation: there is no key to enrol');
    checkEnrolment(this.taskId, id, connection.challenge, message);
    const key = message.signingPublicKey;
    return () => {
      const refSeq = connection.lastSeqIn;
      this.#redis.eval(ENROL, { keys: [this.#keys.keys, this.#keys.owners], arguments: [id, toHex(key)] }).then(
        (outcome) => {
          if (outcome === 'other') return connection.send({ type: 'error', code: 'E_AUTH', message: 'this signing key is enrolled by another client, or this client enrolled another', refSeq });
          this.#enrolled.add(connection);
          connection.send({ type: 'enrolled' });
        },
        () => connection.close(1011, 'the enrolment could not be stored: retry'),
      );
    };
  }

  /** The client a hello's token belongs to, looked up in Redis (mirrored from the coordinator's ledger); a banned client is refused. */
  async #authenticate(token: string): Promise<string> {
    const clientId = await this.#redis.hGet(this.#keys.tokens, toHex(tokenHash(token))); // a failed lookup rejects: closed with 1011 (retry), not refused
    if (clientId == null) throw new Refusal('E_AUTH', 'unknown token', CLOSE_REFUSED);
    const value = await this.#redis.hGet(this.#keys.bans, clientId);
    if (value != null) {
      const ban = readBan(value, 0);
      throw new Refusal('E_AUTH', `${ban.reason} in round ${ban.round}: banned from the task`, CLOSE_REFUSED);
    }
    return clientId;
  }

  #welcome(connection: Connection): void {
    const clientId = connection.clientId!;
    const task = this.#task;
    connection.send({ type: 'welcome', clientId, model: task.model, ...task.local, clipNorm: task.clipNorm, aggregator: task.aggregator, challenge: connection.challenge });
    if (this.#finished) return connection.close(CLOSE_FINISHED, 'task finished');
    const round = this.#round; // a sampled client that reconnects mid-round gets its task again
    if (round !== undefined && !round.written && round.sampled.has(clientId) && !round.uploaded.has(clientId)) connection.send(round.task);
  }
}

/**
 * Starts an aggregator of a task scaled out over Redis: it reads the task its coordinator published
 * ({@link createCoordinator}), serves clients (privkit/client's connect, unchanged) over WebSocket on
 * `port` and sends the coordinator the clipped partial sums of its sampled clients. Any number of
 * aggregators may serve one task; each client connects to one of them.
 *
 * @example
 * ```ts
 * import { createAggregator } from 'privkit/server';
 * const started = await createAggregator({ redis: 'redis://127.0.0.1:9', taskId: 'demo', port: 0 }).catch((error) => error.code);
 * console.log(started); // 'E_ARG': no Redis on port 9
 * ```
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when an option is out of range (the message names it), Redis cannot be reached, no coordinator has published the task, or redis / ws is not installed.
 */
export async function createAggregator(given: AggregatorOptions): Promise<ClusterAggregator> {
  const options = readOptions(given, ['redis', 'taskId', 'id', 'aliveMs', 'httpRequestsPerSecond', ...LISTEN_KEYS], 'options', true) as AggregatorOptions;
  await ready();
  if (typeof options.taskId !== 'string' || !AGGREGATOR_ID.test(options.taskId)) {
    throw new PrivkitError('E_ARG', `options.taskId must be 1-64 characters of [A-Za-z0-9_.-], got ${describe(options.taskId)}`, { argument: 'options.taskId' });
  }
  const id = options.id === undefined ? `a-${Buffer.from(createRng().bytes(6)).toString('base64url')}` : options.id;
  if (typeof id !== 'string' || !AGGREGATOR_ID.test(id)) throw new PrivkitError('E_ARG', `options.id must be 1-64 characters of [A-Za-z0-9_.-], got ${describe(id)}`, { argument: 'options.id' });
  const listening = readListenOptions(options);
  const aliveMs = readMs('options.aliveMs', options.aliveMs, 1500);
  const httpRequestsPerSecond = options.httpRequestsPerSecond === undefined ? 10 : assertInteger('options.httpRequestsPerSecond', options.httpRequestsPerSecond, 1, 1e6);
  const redis = await connectRedis(options.redis, 'options.redis');
  const keys = taskKeys(options.taskId);
  let subscriber: RedisClient | undefined;
  let connections: Connections | undefined;
  let aggregator: ClusterAggregator | undefined;
  try {
    const published = await redis.get(keys.task);
    if (published === null) throw new PrivkitError('E_ARG', `no coordinator has published task ${options.taskId} in Redis`, { argument: 'options.taskId' });
    const task = JSON.parse(published) as PublishedTask;
    subscriber = redis.duplicate();
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    const s = task.secagg;
    const limits = { maxVector: task.paramCount, ...(s === undefined ? {} : { maxBytes: secAggMaxBytes(task.paramCount, s.bits, s.clientsPerRound, s.neighbours) }) };
    connections = await listen(listening, { taskId: options.taskId, limits });
    aggregator = new ClusterAggregator({ id, taskId: options.taskId, task, keys, redis, subscriber, connections, aliveMs, httpRequestsPerSecond });
    await aggregator.start();
    return aggregator;
  } catch (error) {
    if (aggregator !== undefined) await aggregator.close(); // stops its heartbeat, its connections and both Redis connections
    else {
      await connections?.close();
      subscriber?.destroy();
      redis.destroy();
    }
    throw error;
  }
}
