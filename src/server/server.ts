// privkit/server: a long-running federated-averaging service (DP-FedAvg, McMahan et al. 2018) over
// WebSocket (`ws`) with an HTTP endpoint for health and task status, its state in the crash-safe
// SQLite ledger (ledger.ts). One server runs one task: a built-in privkit/fl model trained by
// clients that connect with bearer tokens issued per task (privkit/client).
//
// A round:
//   1. clients check in (CheckIn); once at least minCheckIns have, the server samples exactly
//      clientsPerRound k of the n checked in, uniformly without replacement, with privkit's CSPRNG;
//   2. it opens the round in the ledger and sends each sampled client the model (Task) and a
//      deadline; a sampled client whose update has not arrived by the deadline is a dropout;
//   3. with fewer than minUpdates updates the round is withheld (decided on the count alone, before
//      any aggregation: nothing is released or charged, as FedAvg does);
//   4. otherwise the round's charge is committed to the ledger FIRST, then CentralDpAggregator clips
//      every update to clipNorm, sums them and adds Gaussian noise z C; the model moves by
//      eta x sum / k (FedAvg's fixed denominator), and the new model version and the round's release
//      commit together before the result is sent to anyone.
//
// Whose epsilon. The server sees every update in the clear (central DP): the epsilon gives no
// protection against the server or whoever controls it. It holds for observers of everything the
// service releases: the model versions, the round results (status, number of updates, epsilon) and
// the task status, which includes every round's checked-in count n_t and sample size k. Each round is
// charged as privkit/fl's FedAvg charges a fixed-size sample (centralRoundEvent): the subsampled
// Gaussian with sampling rate q_t = min(1, k / (n_t - c)), without replacement, replace-one neighbours
// (c = colludingClients, default 1: a client knows whether it was sampled itself, so to it the others
// were sampled at k / (n_t - 1), and sampled clients receive the model; one client's
// data replaced by any other: the counts are the same in both worlds, so publishing them costs
// nothing). This rests on two assumptions, stated in the README: (a) whether a client checks in, and
// whether it meets the deadline, does not depend on its data (its connection, not its samples), so the
// n_t checked-in clients are a population of public size from which the sample is uniform; (b) an
// adversary does not learn which other clients were sampled (the server tells only the sampled ones;
// a coalition of more than c checked-in clients learns its members' sampling, and through it more
// about the rest than the charge assumes). Where (a) or (b) may fail, set minCheckIns = clientsPerRound:
// every checked-in client is sampled, q = 1 is charged, and neither assumption is needed. Timing (how
// fast a round completes) is not covered, as in FedAvg.
//
// Secure aggregation (aggregator: 'secagg'). Each client enrols an Ed25519 key once (Enrol, signed
// with it over the task and client ids and its connection's challenge: proof of possession); the ledger binds it to the client for
// good (or the operator binds it when issuing the token: issueTokens' signingPublicKeys, so that a
// token read off the network before its client enrolled can not bind the reader's key); a connection
// checks in only after presenting a signed enrolment for its own challenge (a token alone takes no seat), and a sampled
// client's SecAgg+ messages must be signed with it (privkit/secagg's expectedParticipants at the
// server: an advertisement under any other key is refused, E_AUTH). A
// round runs privkit/secagg's SecAggServer (Bonawitz et al. 2017 with the consistency check, SecAgg+
// neighbourhoods of Bell et al. 2020) over the wire (secagg-round.ts, shared with the shards of the
// Redis aggregators, as are the enrolment checks and the bans): the server sends each sampled client the model,
// the round's quantization plan and setup (SecAggTask); the client trains, clips its update to
// clipNorm, rotates, quantizes and adds its share of the distributed discrete Gaussian (Kairouz, Liu,
// Steinke 2021) exactly as privkit/fl's SecureAggregator, and runs SecAggClient; the server relays
// the five phases (advertise keys, share keys, masked input, consistency check, unmasking), each with
// a deadline (trainMs for the first, phaseMs for the others): a client that misses it is a dropout.
// A phase closing below its threshold (E_THRESHOLD), or fewer masked inputs than minUpdates (the
// survivors the noise is planned for), withholds the round before any share is revealed: nothing
// released, nothing charged (rule 4 of the ledger). The charge is committed when the consistency
// check closes, BEFORE any unmask request goes out (the survivor set, hence the count, is fixed by
// then); a holder that reveals a share its dealer never sent (its own signed response shows it) is
// discarded, banned from the task as a convicted dealer is, and the unmasking retried without it; a
// round that still fails (too few unmask responses, a dealer of inconsistent shares whose secret can
// not be rebuilt) is aborted and keeps its charge. A dealer convicted by its own
// signed messages is banned from the task for good (stored in the ledger before its round is aborted,
// so a restart does not forget it): its connection is closed (4001) and its hello refused from then
// on, so one malicious client can abort at most one charged round. Whatever aborts them (clients that
// go silent in the unmasking phase are dropouts, not convicted), at most maxAbortedRounds rounds are
// aborted after their charge: then the task ends (finishedBy 'aborts'), so a coalition can not burn
// the budget on rounds that release nothing. The charge is FedAvg + SecureAggregator's: the distributed discrete Gaussian
// of the survivors less the c colluding clients (whose noise the observer knows: a malicious client
// can add none), subsampled without replacement at q = min(1, k / (n - c)), replace-one. The
// server no longer sees updates, only the sum over the signed survivor set: against it the epsilon
// is the composition without sampling (status().epsilonAgainstServer). What the clients still trust
// the server with: the quantization plan and noise of a round (a malicious server can lower the
// noise it asks for), and the other clients' signing keys (clients have no PKI of their own: the
// server could stand in for other clients, Sybils); the client-side checks of privkit/secagg
// (signatures on relayed advertisements, minParticipants, survivor-set checks) hold against it.
//
// Adversary of the protocol: network clients, authenticated or not. The connection layer
// (connections.ts, shared with the Redis aggregators) rate-limits, decodes (bounded sizes), refuses
// replays, authenticates (bearer tokens, looked up in the ledger), bounds the connections waiting to
// authenticate (maxUnauthenticated) and the time they may wait (helloMs), and documents the close
// codes; this file then checks the phase (an update for another round, a second update, a check-in
// while assigned: E_PROTOCOL). A refused message gets an Error frame and changes no state of the task.
// Adversary on the network path (reads and alters traffic): bearer tokens and enrolments travel in
// the hello and enrol frames, so the transport must be TLS (the tls option, or a TLS-terminating proxy
// on loopback); without tls the connection layer refuses plain upgrades from non-loopback peers unless
// allowInsecureTransport is set, and privkit/client refuses ws:// to non-loopback hosts. Over a plain
// network path an attacker who reads a token can authenticate as its client (supersede its connection,
// take its seat in central-DP rounds); in secure aggregation it can also bind its own key to a client
// that has not enrolled yet, unless the key was bound at issue. It can not take an enrolled client's
// seat: the enrolment signs a challenge the welcome of its connection carries (32 fresh random bytes per
// connection, Connection.challenge), so an enrolment read with the token off one connection does not
// verify on another (E_AUTH; the same in the Redis aggregators). The HTTP status (GET /task) is public
// and rate-limited per address (status.ts).
// Not covered in this version: Sybil clients with valid tokens (each token is one client: the operator
// issues them), and a malicious server (clients trust it: use privkit/secagg's SecureAggregator in
// simulation for that).
import { PrivkitError } from '../errors.js';
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import { assertDelta, type DistributedDiscreteGaussianEvent, type PrivacyEvent } from '../accounting/events.js';
import { createRng } from '../dp/rng.js';
import { CentralDpAggregator, centralRoundEvent } from '../fl/aggregators.js';
import { equalBytes } from '../secagg/crypto.js';
import { planDistributedDp, type DistributedDpPlan } from '../secagg/ddp.js';
import { dequantize } from '../secagg/quantize.js';
import { inverseRandomizedHadamard } from '../secagg/rotation.js';
import { checkLocalOptions, type LocalTrainingOptions } from '../fl/local.js';
import { createModel, type Model, type ModelSpecInput } from '../fl/model.js';
import { fixedSizeSample, UniformIntegers } from '../fl/sampling.js';
import { assertInteger, assertNumber, assertOneOf, describe, readOptions } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import { maxFrameBytes, type Message, type RoundStatus, type WireAggregator, type WireLimits, type WireModelSpec } from '../service/wire.js';
import { CLOSE_FINISHED, CLOSE_REFUSED, Refusal, SharedFrame, listen, readListenOptions, tokenHash, LISTEN_KEYS, type Connection, type Connections, type ListenOptions } from './connections.js';
import { Ledger } from './ledger.js';
import { checkEnrolment, EnrolledConnections, readSigningKeys, secAggMaxBytes, secAggShape, SecAggRound, type Culprit, type SecAggOutcome } from './secagg-round.js';
import { AddressRateLimiter, endOfTask, serveStatusHttp, StatusCache, type FinishedBy, type LiveStatus, type TaskStatus } from './status.js';

export { endOfTask, type BannedClient, type FinishedBy, type TaskStatus } from './status.js';

/** The task a server runs. */
export interface TaskOptions {
  /** The task's name (1-64 characters of [A-Za-z0-9_.-]); clients name it when they authenticate. */
  id: string;
  /** A built-in privkit/fl model (createModel's spec). */
  model: ModelSpecInput;
  /** The clients' local training: epochs, batchSize, learningRate. */
  local: Pick<LocalTrainingOptions, 'epochs' | 'batchSize' | 'learningRate'>;
  /** Rounds to complete (released or withheld; aborted rounds do not count, but their charges do). */
  rounds: number;
  /** k: clients sampled per round. */
  clientsPerRound: number;
  /** Checked-in clients needed before a round samples (>= clientsPerRound; default clientsPerRound, i.e. q = 1). */
  minCheckIns?: number;
  /** Updates a round needs to be released; fewer and it is withheld. Default 1. */
  minUpdates?: number;
  /**
   * c: how many checked-in clients the epsilon allows the observer to be or collude with. A client
   * knows whether it was sampled itself, so to it the others were sampled at k / (n - 1); each round
   * is charged at q = min(1, k / (n - c)). Default 1 (sampled clients receive the model: they are
   * observers); 0 holds only for observers who are not clients. Integer in [0, minCheckIns - 1].
   */
  colludingClients?: number;
  /** C: the L2 bound of each update. */
  clipNorm: number;
  /** z > 0: the noise on each round's sum has standard deviation z C. */
  noiseMultiplier: number;
  /** A budget: a round whose charge would take epsilon past it is not started, and the task ends. */
  targetEpsilon?: number;
  /**
   * Rounds that may be aborted after their charge (secure aggregation that could not unmask: each costs
   * its epsilon and releases nothing) before the task ends with finishedBy 'aborts'. Rounds aborted by a
   * restart of the server do not count. Default 3.
   */
  maxAbortedRounds?: number;
  /** delta of the reported epsilon; default 1e-5. */
  delta?: number;
  /** eta: the server step on the averaged update; default 1. */
  serverLearningRate?: number;
  /** Milliseconds a sampled client has to upload its update (with 'secagg': to train and advertise its keys); default 60000. */
  trainMs?: number;
  /**
   * 'central-dp' (default): clients upload updates, the server clips, sums and adds Gaussian noise.
   * 'secagg': SecAgg+ with the distributed discrete Gaussian; the server sees only the sum (see the file header).
   * With 'secagg', minUpdates is the fewest masked inputs a round is unmasked with, and each client's
   * noise is planned so that minUpdates of them carry z C (default: clientsPerRound).
   */
  aggregator?: WireAggregator;
  /** 'secagg': the sum lives in Z_2^bits; default 20. */
  bits?: number;
  /** 'secagg': SecAgg+ neighbours per client (even, >= 2); default 16 (a round of at most neighbours + 1 clients uses the complete graph). */
  neighbours?: number;
  /** 'secagg': milliseconds each protocol phase after the first has; default 10000. */
  phaseMs?: number;
}

/** Options of {@link createServer} (with the listening options of {@link ListenOptions}). */
export interface ServerOptions extends ListenOptions {
  /** The task to run (resumed from the ledger when the data directory already holds it). */
  task: TaskOptions;
  /** Directory of the SQLite ledger; default './data'. */
  dataDir?: string;
  /** Requests per second each remote address may make to the HTTP endpoints (GET /health, GET /task); beyond it 429 with Retry-After. Default 10. */
  httpRequestsPerSecond?: number;
  /** Wire limits: longest vector (default: the model's parameter count, the least that works), string and byte field (default: the largest SecAgg+ message of the task; 128 without secure aggregation) a frame may carry. */
  limits?: WireLimits;
}

/** A bearer token issued for one client of the task. */
export interface IssuedToken {
  /** The client's id in the ledger. */
  clientId: string;
  /** The secret the client authenticates with (base64url, 256 bits); only its SHA-256 is stored. */
  token: string;
}

const SECAGG_OBSERVER =
  'observers of the released model versions, round results and task status (checked-in counts included), replace-one neighbours, sampling without replacement at min(1, k / (checked-in - colludingClients)), assuming check-in and deadlines do not depend on the data; the server sees only the sum over each signed survivor set (epsilonAgainstServer: without sampling)';
const OBSERVER =
  'observers of the released model versions, round results and task status (checked-in counts included), not the server itself, which sees updates in the clear (central DP); replace-one neighbours, sampling without replacement at min(1, k / (checked-in - colludingClients)), assuming check-in and deadlines do not depend on the data';
/** Milliseconds enrolments are gathered before they are committed together. */
const ENROLMENT_BATCH_MS = 10;
const TASK_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const TASK_KEYS = [
  'id',
  'model',
  'local',
  'rounds',
  'clientsPerRound',
  'minCheckIns',
  'minUpdates',
  'colludingClients',
  'clipNorm',
  'noiseMultiplier',
  'targetEpsilon',
  'maxAbortedRounds',
  'delta',
  'serverLearningRate',
  'trainMs',
  'aggregator',
  'bits',
  'neighbours',
  'phaseMs',
] as const satisfies readonly (keyof TaskOptions)[];

/** @internal a checked TaskOptions (shared with the cluster coordinator, src/server/cluster.ts). */
export interface ResolvedTask {
  id: string;
  model: Model;
  local: { epochs: number; batchSize: number; learningRate: number };
  rounds: number;
  clientsPerRound: number;
  minCheckIns: number;
  minUpdates: number;
  colludingClients: number;
  clipNorm: number;
  noiseMultiplier: number;
  targetEpsilon: number | undefined;
  maxAbortedRounds: number;
  delta: number;
  serverLearningRate: number;
  trainMs: number;
  aggregator: WireAggregator;
  bits: number;
  neighbours: number;
  phaseMs: number;
}

/** @internal checks a TaskOptions (shared with src/server/cluster.ts). */
export function resolveTask(given: TaskOptions): ResolvedTask {
  const t = readOptions(given, TASK_KEYS, 'options.task', true) as TaskOptions;
  if (typeof t.id !== 'string' || !TASK_ID.test(t.id)) {
    throw new PrivkitError('E_ARG', `options.task.id must be 1-64 characters of [A-Za-z0-9_.-], got ${describe(t.id)}`, { argument: 'options.task.id' });
  }
  const model = createModel(t.model);
  const local = checkLocalOptions(t.local, 'options.task.local');
  const clientsPerRound = assertInteger('options.task.clientsPerRound', t.clientsPerRound, 1, 2 ** 20);
  const minCheckIns = t.minCheckIns === undefined ? clientsPerRound : assertInteger('options.task.minCheckIns', t.minCheckIns, clientsPerRound, 2 ** 30);
  const aggregator = assertOneOf('options.task.aggregator', t.aggregator, ['central-dp', 'secagg'] as const, 'central-dp');
  const neighbours = t.neighbours === undefined ? 16 : assertInteger('options.task.neighbours', t.neighbours, 2, 1022);
  if (neighbours % 2 !== 0) throw new PrivkitError('E_ARG', `options.task.neighbours must be even, got ${neighbours}`, { argument: 'options.task.neighbours' });
  return {
    id: t.id,
    model,
    local: { epochs: local.epochs, batchSize: local.batchSize, learningRate: local.learningRate },
    rounds: assertInteger('options.task.rounds', t.rounds, 1, 2 ** 20),
    clientsPerRound,
    minCheckIns,
    minUpdates: t.minUpdates === undefined ? (aggregator === 'secagg' ? clientsPerRound : 1) : assertInteger('options.task.minUpdates', t.minUpdates, 1, clientsPerRound),
    colludingClients: t.colludingClients === undefined ? 1 : assertInteger('options.task.colludingClients', t.colludingClients, 0, minCheckIns - 1),
    clipNorm: assertNumber('options.task.clipNorm', t.clipNorm, 'positive'),
    noiseMultiplier: assertNumber('options.task.noiseMultiplier', t.noiseMultiplier, 'positive'),
    targetEpsilon: t.targetEpsilon === undefined ? undefined : assertNumber('options.task.targetEpsilon', t.targetEpsilon, 'positive'),
    maxAbortedRounds: t.maxAbortedRounds === undefined ? 3 : assertInteger('options.task.maxAbortedRounds', t.maxAbortedRounds, 1, 2 ** 20),
    delta: t.delta === undefined ? 1e-5 : assertDelta('options.task.delta', t.delta),
    serverLearningRate: t.serverLearningRate === undefined ? 1 : assertNumber('options.task.serverLearningRate', t.serverLearningRate, 'positive'),
    trainMs: t.trainMs === undefined ? 60000 : assertInteger('options.task.trainMs', t.trainMs, 1, 2 ** 31 - 1),
    aggregator,
    bits: t.bits === undefined ? 20 : assertInteger('options.task.bits', t.bits, 1, 32),
    neighbours,
    phaseMs: t.phaseMs === undefined ? 10000 : assertInteger('options.task.phaseMs', t.phaseMs, 1, 2 ** 31 - 1),
  };
}

/** A secure-aggregation round in flight. */
interface SecAggRoundState {
  kind: 'secagg';
  round: number;
  runner: SecAggRound;
}

/** The round in flight. */
interface RoundState {
  kind: 'central';
  round: number;
  event: PrivacyEvent;
  sampled: Set<string>;
  updates: Map<string, Float32Array>;
  phase: 'training' | 'aggregating';
  /** The model sent to each sampled client (encoded once). */
  task: SharedFrame;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A running federated-averaging service (see {@link createServer}). Its task's state lives in the
 * ledger; {@link PrivkitServer.close} stops it, and a new server on the same data directory resumes it.
 */
export class PrivkitServer {
  /** The TCP port the server listens on. */
  readonly port: number;
  /** ws://host:port (wss:// with the tls option): what clients connect to. */
  readonly url: string;
  /** Who the task's epsilon holds for. */
  readonly observer: string;
  /** Resolves with the final status once the task has finished (all rounds, or the budget). */
  readonly finished: Promise<TaskStatus>;

  readonly #task: ResolvedTask;
  readonly #ledger: Ledger;
  readonly #connections: Connections;
  readonly #status: StatusCache;
  readonly #aggregator: CentralDpAggregator;
  readonly #integers = new UniformIntegers(createRng());
  readonly #accountant = new RdpAccountant();
  readonly #checkedIn = new Set<string>();
  #params: Float32Array;
  #modelVersion: number;
  #round: RoundState | SecAggRoundState | undefined;
  readonly #plan: DistributedDpPlan | undefined;
  readonly #serverAccountant = new RdpAccountant();
  /** Whether any charge was made (the ledger's, replayed at start, or this run's), and the epsilons since the last one (status() is polled). */
  #charged = false;
  #epsilons: { observer: number; server: number } | undefined;
  #finishedBy: FinishedBy | undefined;
  #resolveFinished!: (status: TaskStatus) => void;
  #closing = false;
  /** Enrolments checked and accepted, waiting for the next flush (#flushEnrolments). */
  readonly #pendingEnrolments: { connection: Connection; clientId: string; publicKey: Uint8Array; refSeq: number }[] = [];
  /** Secure aggregation: the connections that proved their client's enrolled key (a signed enrolment); only they may check in. */
  readonly #enrolled = new EnrolledConnections();
  #enrolmentFlush: ReturnType<typeof setTimeout> | undefined;

  /** @internal use {@link createServer}. */
  constructor(parts: { task: ResolvedTask; ledger: Ledger; connections: Connections; httpRequestsPerSecond: number }) {
    this.#task = parts.task;
    this.#ledger = parts.ledger;
    this.#connections = parts.connections;
    this.port = parts.connections.port;
    this.url = parts.connections.url;
    this.finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    const task = this.#task;
    this.#aggregator = new CentralDpAggregator({ dimension: task.model.paramCount, clipNorm: task.clipNorm, noiseMultiplier: task.noiseMultiplier });
    this.observer = task.aggregator === 'secagg' ? SECAGG_OBSERVER : OBSERVER;
    // the same plan as SecureAggregator: minUpdates survivors carry the central noise z C
    this.#plan =
      task.aggregator === 'secagg'
        ? planDistributedDp({ clipNorm: task.clipNorm, dimension: task.model.paramCount, clients: task.clientsPerRound, noiseClients: task.minUpdates, noiseMultiplier: task.noiseMultiplier, bits: task.bits })
        : undefined;
    // Rule 3 of the ledger: a round in flight at a crash is aborted; its charge (if any) stays.
    this.#ledger.recover(task.id);
    for (const { event } of this.#ledger.charges(task.id)) this.#charge(event);
    this.#ledger.initModel(task.id, task.model.initParams());
    const latest = this.#ledger.latestModel(task.id)!;
    this.#params = latest.params;
    this.#modelVersion = latest.version;
    this.#status = new StatusCache(this.#ledger, task, this.observer);
    this.#checkFinished();
    const http = { taskId: task.id, limiter: new AddressRateLimiter(parts.httpRequestsPerSecond), statusBody: () => this.#status.body(this.#live()) };
    this.#connections.http.on('request', (req, res) => serveStatusHttp(req, res, http));
    this.#connections.serve({
      authenticate: (token) => this.#authenticate(token),
      welcome: (connection) => this.#welcome(connection),
      check: (connection, id, message) => this.#check(connection, id, message),
      left: (id) => void this.#checkedIn.delete(id),
    });
  }

  /** Epsilon charged so far at the task's delta (0 before any charge). */
  get epsilon(): number {
    return (this.#epsilons ??= this.#computeEpsilons()).observer;
  }

  /** The epsilons of the charges so far (0 before any), against the observer and against the server (computed once a charge). */
  #computeEpsilons(): { observer: number; server: number } {
    if (!this.#charged) return { observer: 0, server: 0 };
    const delta = this.#task.delta;
    return { observer: this.#accountant.getEpsilon(delta).epsilon, server: this.#plan === undefined ? 0 : this.#serverAccountant.getEpsilon(delta).epsilon };
  }

  /**
   * Enrols a new client of the task and returns its bearer token (shown once; the ledger keeps its hash);
   * `options.signingPublicKey` binds the client's Ed25519 key at once (see {@link PrivkitServer.issueTokens}).
   *
   * @throws {PrivkitError} E_ARG as issueTokens.
   */
  issueToken(options?: { signingPublicKey?: Uint8Array }): IssuedToken {
    const key = readOptions(options, ['signingPublicKey'], 'options', true).signingPublicKey;
    return this.issueTokens(1, key === undefined ? undefined : { signingPublicKeys: [key] })[0]!;
  }

  /**
   * Enrols `count` new clients of the task at once (one ledger transaction) and returns their bearer
   * tokens (shown once; the ledger keeps their hashes).
   *
   * Secure aggregation: `options.signingPublicKeys` (one 32-byte Ed25519 public key per client, in order)
   * binds each client's signing key with its token, for good. A client's first enrolment otherwise binds
   * whatever key it presents, so whoever reads a token off the network before its client enrols could
   * bind its own key to the client's identity; with the key bound at issue, a stolen token can not
   * re-bind it (the enrolment of another key is refused, E_AUTH) and the thief can not sign the client's
   * SecAgg+ messages. The client still proves possession of the key when it enrols.
   *
   * @throws {PrivkitError} E_ARG when count is not an integer in [1, 2^20], signingPublicKeys is given for a
   * task without secure aggregation, is not `count` 32-byte Uint8Arrays, repeats a key, or holds a key
   * already bound to a client (nothing is stored then).
   */
  issueTokens(count: number, options?: { signingPublicKeys?: readonly Uint8Array[] }): IssuedToken[] {
    assertInteger('count', count, 1, 2 ** 20);
    const keys = readSigningKeys(count, readOptions(options, ['signingPublicKeys'], 'options', true).signingPublicKeys, this.#plan !== undefined);
    const rng = createRng();
    const issued = Array.from({ length: count }, () => ({ clientId: `c-${toBase64Url(rng.bytes(9))}`, token: toBase64Url(rng.bytes(32)) }));
    this.#ledger.addClients(
      this.#task.id,
      issued.map(({ clientId, token }, i) => ({ clientId, tokenHash: tokenHash(token), ...(keys === undefined ? {} : { signingPublicKey: keys[i]! }) })),
    );
    return issued;
  }

  /** The task's state (what GET /task returns). */
  status(): TaskStatus {
    return this.#status.status(this.#live());
  }

  /** What the status holds beyond the ledger. */
  #live(): LiveStatus {
    return {
      state: this.#finishedBy !== undefined ? 'finished' : this.#round !== undefined ? 'training' : 'waiting',
      finishedBy: this.#finishedBy,
      modelVersion: this.#modelVersion,
      checkedIn: this.#checkedIn.size,
      epsilon: this.epsilon,
      epsilonAgainstServer: this.#plan === undefined ? undefined : (this.#epsilons ??= this.#computeEpsilons()).server,
    };
  }

  /** The latest released model parameters (a copy). */
  get params(): Float32Array {
    return this.#params.slice();
  }

  /** Stops listening, closes every connection and the ledger. A round in flight is aborted at the next start. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#enrolmentFlush);
    if (this.#round?.kind === 'central') clearTimeout(this.#round.timer);
    if (this.#round?.kind === 'secagg') await this.#round.runner.stop();
    await this.#connections.close();
    this.#ledger.close();
  }

  // ------------------------------------------------------------------------------------ HTTP

  // ------------------------------------------------------------------------------------ connections

  /** Checks an authenticated client's message against the task; returns the state change to apply. */
  #check(connection: Connection, id: string, message: Message): () => void {
    switch (message.type) {
      case 'check-in': {
        if (this.#finishedBy !== undefined) throw new Refusal('E_PROTOCOL', 'the task has finished');
        if (this.#checkedIn.has(id)) throw new Refusal('E_PROTOCOL', 'already checked in');
        // a bearer token alone does not take a seat in secure aggregation: the connection must prove the client's key
        if (this.#plan !== undefined) this.#enrolled.assertSeat(connection);
        const round = this.#round;
        if (round?.kind === 'central' && round.sampled.has(id) && !round.updates.has(id) && round.phase === 'training') {
          throw new Refusal('E_PROTOCOL', `check-in while sampled for round ${round.round}: upload its update first`);
        }
        return () => {
          this.#checkedIn.add(id);
          connection.send({ type: 'checked-in', round: this.#ledger.nextRound(this.#task.id) });
          this.#maybeStartRound();
        };
      }
      case 'update': {
        const round = this.#round;
        if (round?.kind !== 'central' || message.round !== round.round || round.phase !== 'training') {
          throw new Refusal('E_PROTOCOL', `an update for round ${message.round} is out of phase (round in training: ${round?.kind === 'central' && round.phase === 'training' ? round.round : 'none'})`);
        }
        if (!round.sampled.has(id)) throw new Refusal('E_PROTOCOL', `client was not sampled for round ${round.round}`);
        if (round.updates.has(id)) throw new Refusal('E_PROTOCOL', `a second update for round ${round.round}`);
        if (message.delta.length !== this.#task.model.paramCount) {
          throw new Refusal('E_PROTOCOL', `an update of ${message.delta.length} values; the model has ${this.#task.model.paramCount}`);
        }
        return () => {
          round.updates.set(id, message.delta);
          if (round.updates.size === round.sampled.size) void this.#finishRound(round);
        };
      }
      case 'enrol':
        return this.#checkEnrol(connection, id, message);
      case 'secagg':
        return this.#checkSecAgg(connection, id, message);
      default:
        throw new Refusal('E_PROTOCOL', `a ${message.type} message is sent by the server, not to it`);
    }
  }

  /** Enrol: a 32-byte Ed25519 key, signed over (task, client, key, this connection's challenge); once bound, no other key is accepted. */
  #checkEnrol(connection: Connection, id: string, message: Extract<Message, { type: 'enrol' }>): () => void {
    if (this.#plan === undefined) throw new Refusal('E_PROTOCOL', 'this task does not use secure aggregation: there is no key to enrol');
    const key = message.signingPublicKey;
    checkEnrolment(this.#task.id, id, connection.challenge, message);
    const current = this.#ledger.signingKey(this.#task.id, id);
    if (current !== undefined && !equalBytes(current, key)) throw new Refusal('E_AUTH', 'this client has enrolled another signing key: it can not be replaced');
    return () => {
      if (current !== undefined) {
        this.#enrolled.add(connection);
        return connection.send({ type: 'enrolled' });
      }
      // stored with the enrolments of the next ENROLMENT_BATCH_MS in one transaction, and acknowledged once committed
      this.#pendingEnrolments.push({ connection, clientId: id, publicKey: key, refSeq: connection.lastSeqIn });
      this.#enrolmentFlush ??= setTimeout(() => this.#flushEnrolments(), ENROLMENT_BATCH_MS);
    };
  }

  /** Commits the pending enrolments in one transaction (one fsync for a crowd of new clients, not one each), then answers each. */
  #flushEnrolments(): void {
    this.#enrolmentFlush = undefined;
    if (this.#closing) return; // never acknowledged: the clients enrol again when they reconnect
    const batch = this.#pendingEnrolments.splice(0);
    const outcomes = this.#ledger.enrolSigningKeys(this.#task.id, batch);
    batch.forEach(({ connection, refSeq }, i) => {
      // 'other': the key is another client's (a copied key), or this client enrolled another meanwhile -> refused, nothing stored
      if (outcomes[i] === 'other') {
        connection.send({ type: 'error', code: 'E_AUTH', message: 'this signing key is enrolled by another client, or this client enrolled another', refSeq });
      } else {
        this.#enrolled.add(connection);
        connection.send({ type: 'enrolled' });
      }
    });
  }

  /** A SecAgg+ message: of the round in flight (its phase, sender and contents are checked by the round, secagg-round.ts). */
  #checkSecAgg(connection: Connection, id: string, message: Extract<Message, { type: 'secagg' }>): () => void {
    const round = this.#round;
    if (round?.kind !== 'secagg') throw new Refusal('E_PROTOCOL', `a secure-aggregation message for round ${message.round} is out of phase`);
    return round.runner.check(connection, id, message);
  }

  /** The client a hello's token belongs to (the connection layer checks the task, the deadline and the rest). */
  #authenticate(token: string): string {
    const clientId = this.#ledger.findClient(this.#task.id, tokenHash(token));
    if (clientId === undefined) throw new Refusal('E_AUTH', 'unknown token', CLOSE_REFUSED);
    const ban = this.#ledger.ban(this.#task.id, clientId);
    if (ban !== undefined) throw new Refusal('E_AUTH', `${ban.reason} in round ${ban.round}: banned from the task`, CLOSE_REFUSED);
    return clientId;
  }

  #welcome(connection: Connection): void {
    const clientId = connection.clientId!;
    const task = this.#task;
    connection.send({
      type: 'welcome',
      clientId,
      model: task.model.spec as WireModelSpec,
      ...task.local,
      clipNorm: task.clipNorm,
      aggregator: task.aggregator,
      challenge: connection.challenge,
    });
    if (this.#finishedBy !== undefined) return connection.close(CLOSE_FINISHED, 'task finished');
    // a sampled client that reconnects mid-round gets its task again
    const round = this.#round;
    if (round?.kind === 'central' && round.phase === 'training' && round.sampled.has(clientId) && !round.updates.has(clientId)) connection.send(round.task);
  }

  // ------------------------------------------------------------------------------------ rounds

  #checkFinished(): boolean {
    if (this.#finishedBy !== undefined) return true;
    const end = endOfTask(this.#task, this.#ledger.rounds(this.#task.id));
    if (end !== undefined) this.#finish(end);
    return this.#finishedBy !== undefined;
  }

  #finish(by: FinishedBy): void {
    this.#finishedBy = by;
    this.#checkedIn.clear();
    for (const connection of this.#connections.authenticated()) connection.close(CLOSE_FINISHED, 'task finished');
    this.#resolveFinished(this.status());
  }

  #maybeStartRound(): void {
    if (this.#closing || this.#round !== undefined || this.#checkFinished()) return;
    const task = this.#task;
    const n = this.#checkedIn.size;
    if (n < task.minCheckIns) return;
    // to an observer who is (or colludes with) c of the n checked-in clients, the others were sampled at k / (n - c)
    const sampleRate = Math.min(1, task.clientsPerRound / (n - task.colludingClients));
    // secure aggregation: the costliest round is the one charged for the fewest noisy clients, its fewest survivors
    // unmasked less the colludingClients (the charge of #closePhase): priced at minUpdates, a round could pass the budget
    const event =
      this.#plan === undefined
        ? centralRoundEvent(this.#aggregator, sampleRate, 'without-replacement')
        : this.#plan.event({ clients: Math.max(1, secAggShape(task.clientsPerRound, task.neighbours, task.minUpdates).minSurvivors - task.colludingClients), sampleRate, sampling: 'without-replacement' });
    if (task.targetEpsilon !== undefined && !(this.#accountant.clone().step(event).getEpsilon(task.delta).epsilon <= task.targetEpsilon)) {
      this.#finish('budget');
      return;
    }
    const candidates = [...this.#checkedIn];
    const sampled = new Set(fixedSizeSample(n, task.clientsPerRound, this.#integers).map((i) => candidates[i]!));
    const roundNumber = this.#ledger.nextRound(task.id);
    this.#ledger.openRound(task.id, roundNumber, n, task.clientsPerRound);
    for (const id of sampled) this.#checkedIn.delete(id);
    if (this.#plan !== undefined) return void this.#startSecAggRound(roundNumber, sampleRate, [...sampled]);
    const round: RoundState = {
      kind: 'central',
      round: roundNumber,
      event,
      sampled,
      updates: new Map(),
      phase: 'training',
      task: new SharedFrame({ type: 'task', round: roundNumber, modelVersion: this.#modelVersion, deadlineMs: task.trainMs, params: this.#params }),
      timer: setTimeout(() => void this.#finishRound(round), task.trainMs),
    };
    this.#round = round;
    for (const id of sampled) {
      const connection = this.#connections.get(id);
      if (connection !== undefined) connection.send(round.task);
    }
  }

  async #finishRound(round: RoundState): Promise<void> {
    if (round.phase !== 'training' || this.#closing) return;
    round.phase = 'aggregating';
    clearTimeout(round.timer);
    const task = this.#task;
    const updates = [...round.updates.values()];
    let status: RoundStatus;
    if (updates.length < task.minUpdates) {
      this.#ledger.withholdRound(task.id, round.round, updates.length);
      status = 'withheld';
    } else {
      const after = this.#accountant.clone().step(round.event);
      this.#ledger.chargeRound(task.id, round.round, round.event, after.getEpsilon(task.delta).epsilon); // rule 1: charge, then compute
      this.#charge(round.event);
      const { sum } = await this.#aggregator.aggregate(updates, round.round);
      if (this.#closing) return; // never released: aborted (charged) at the next start
      const next = this.#params.slice();
      const step = task.serverLearningRate / task.clientsPerRound; // FedAvg's fixed denominator under DP
      for (let j = 0; j < next.length; j++) next[j] += step * sum[j]!;
      this.#modelVersion = this.#ledger.releaseRound(task.id, round.round, updates.length, next); // rule 2
      this.#params = next;
      status = 'released';
    }
    this.#endRound(round.round, status, updates.length);
  }

  /** Tells everyone a round's outcome and starts the next round (or finishes). */
  #endRound(round: number, status: RoundStatus, included: number): void {
    this.#round = undefined;
    const result = new SharedFrame({ type: 'round-result', round, status, included, modelVersion: this.#modelVersion, epsilon: this.epsilon });
    for (const connection of this.#connections.authenticated()) connection.send(result);
    this.#maybeStartRound(); // or finish: all rounds done, or the next one would overspend
  }

  /** Steps the accountants with a charged event (the server's: the same release without sampling). */
  #charge(event: PrivacyEvent): void {
    this.#accountant.step(event);
    if (this.#plan !== undefined) this.#serverAccountant.step({ ...(event as DistributedDiscreteGaussianEvent), sampleRate: 1 });
    this.#charged = true;
    this.#epsilons = undefined;
  }

  // ------------------------------------------------------------------------ secure aggregation

  #startSecAggRound(roundNumber: number, sampleRate: number, sampled: string[]): void {
    const task = this.#task;
    const plan = this.#plan!;
    const rotationSeed = createRng().bytes(32);
    const runner: SecAggRound = new SecAggRound({
      round: roundNumber,
      clients: sampled.map((id) => ({ id, signingPublicKey: this.#ledger.signingKey(task.id, id)! })),
      plan,
      minUpdates: task.minUpdates,
      neighbours: task.neighbours,
      trainMs: task.trainMs,
      phaseMs: task.phaseMs,
      modelVersion: this.#modelVersion,
      params: this.#params,
      rotationSeed,
      connection: (id) => this.#connections.get(id),
      charge: (survivors) => {
        // Rule 1: charged before any unmask request leaves the server. The noise in the sum is the honest survivors': the
        // c clients the epsilon lets the observer collude with know (or left out) their own, so they are not counted; the
        // target's own noise always is (hence at least 1).
        const event = plan.event({ clients: Math.max(1, survivors - task.colludingClients), sampleRate, sampling: 'without-replacement' });
        this.#ledger.chargeRound(task.id, roundNumber, event, this.#accountant.clone().step(event).getEpsilon(task.delta).epsilon);
        this.#charge(event);
        return true;
      },
      convict: (culprits) => this.#convict(roundNumber, culprits),
      end: (outcome) => this.#endSecAgg(roundNumber, rotationSeed, outcome),
    });
    this.#round = { kind: 'secagg', round: roundNumber, runner };
    void runner.start();
  }

  /**
   * Bans the round's convicted dealers and discarded holders from the task for good (in the ledger first). A
   * dealer whose secret can not be rebuilt aborts the round after its charge; a holder that reveals a share its
   * dealer never sent makes the unmasking retry without it (and aborts the round when too few holders remain).
   * Either would do so in every round it is sampled for; each is proven by its own signed messages (an honest
   * holder opens every share at the masked-input phase and rejects a dealer whose share does not open), so no
   * honest client is banned.
   */
  #convict(round: number, culprits: readonly Culprit[]): void {
    for (const { id, reason } of culprits) {
      this.#ledger.banClient(this.#task.id, id, round, reason);
      this.#checkedIn.delete(id);
      const connection = this.#connections.get(id);
      connection?.send({ type: 'error', code: 'E_AUTH', message: `${reason} in round ${round}: banned from the task`, refSeq: 0 });
      connection?.close(CLOSE_REFUSED, 'banned');
    }
  }

  /** Records a secure-aggregation round's outcome; a released sum is mapped back (dequantize, inverse rotation) and steps the model (rule 2). */
  #endSecAgg(round: number, rotationSeed: Uint8Array, outcome: SecAggOutcome): void {
    const task = this.#task;
    if (outcome.status === 'withheld') {
      this.#ledger.withholdRound(task.id, round, outcome.count);
      return this.#endRound(round, 'withheld', outcome.count);
    }
    if (outcome.status === 'aborted') {
      this.#ledger.abortRound(task.id, round, outcome.count); // rule 5: the charge stays
      return this.#endRound(round, 'aborted', outcome.count);
    }
    const plan = this.#plan!;
    const sum = inverseRandomizedHadamard(dequantize(outcome.sum, { scale: plan.scale, bits: plan.bits }), rotationSeed, task.model.paramCount);
    const next = this.#params.slice();
    const step = task.serverLearningRate / task.clientsPerRound; // FedAvg's fixed denominator
    for (let j = 0; j < next.length; j++) next[j] += step * sum[j]!;
    this.#modelVersion = this.#ledger.releaseRound(task.id, round, outcome.included, next);
    this.#params = next;
    this.#endRound(round, 'released', outcome.included);
  }
}

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/**
 * Starts a federated-averaging service for one task: HTTP (GET /health, GET /task) and WebSocket on
 * the same port, its state in the SQLite ledger under `dataDir` (resumed when present). See the file
 * header of src/server/server.ts for the round, whose epsilon it is and the adversary.
 *
 * @example
 * ```ts
 * import { createServer } from 'privkit/server';
 * const server = await createServer({
 *   port: 0,
 *   dataDir: './data',
 *   task: { id: 'demo', model: { type: 'softmax-regression', inputs: 4, classes: 2 }, rounds: 3, clientsPerRound: 2,
 *     local: { epochs: 1, batchSize: 2, learningRate: 0.1 }, clipNorm: 1, noiseMultiplier: 1 },
 * });
 * const { token } = server.issueToken(); // hand to one client (privkit/client's connect)
 * console.log(server.url, token.length, server.status().state);
 * await server.close();
 * ```
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when an option is out of range (the message names it), the data directory holds a different task of the same id, or ws / better-sqlite3 is not installed.
 */
export async function createServer(given: ServerOptions): Promise<PrivkitServer> {
  const options = readOptions(given, ['task', 'dataDir', 'limits', 'httpRequestsPerSecond', ...LISTEN_KEYS], 'options', true) as ServerOptions;
  await ready();
  const task = resolveTask(options.task);
  const listening = readListenOptions(options);
  const httpRequestsPerSecond = options.httpRequestsPerSecond === undefined ? 10 : assertInteger('options.httpRequestsPerSecond', options.httpRequestsPerSecond, 1, 1e6);
  maxFrameBytes(options.limits); // checks the limits
  // by default no frame may carry a vector longer than the model: the tightest bound, applied before allocation
  const givenLimits = readOptions(options.limits, ['maxVector', 'maxString', 'maxBytes'], 'options.limits');
  // The longest byte field a client may send: with secure aggregation, a message of one round (secagg-round.ts);
  // else an enrolment's key and signature (refused anyway).
  const maxBytes =
    givenLimits.maxBytes ?? (task.aggregator === 'secagg' ? secAggMaxBytes(task.model.paramCount, task.bits, task.clientsPerRound, task.neighbours) : 128);
  const limits: WireLimits = {
    maxVector: givenLimits.maxVector ?? task.model.paramCount,
    ...(givenLimits.maxString === undefined ? {} : { maxString: givenLimits.maxString }),
    maxBytes,
  };
  if (limits.maxVector! < task.model.paramCount) {
    throw new PrivkitError('E_ARG', `options.limits.maxVector must be >= the model's ${task.model.paramCount} parameters`, { argument: 'options.limits.maxVector' });
  }
  const ledger = new Ledger(options.dataDir ?? './data');
  try {
    const spec = JSON.stringify({ ...task, model: task.model.spec });
    if (!ledger.ensureTask(task.id, spec)) {
      throw new PrivkitError('E_ARG', `the data directory holds a task ${task.id} with other settings: use another id or directory`, { argument: 'options.task' });
    }
    const connections = await listen(listening, { taskId: task.id, limits });
    return new PrivkitServer({ task, ledger, connections, httpRequestsPerSecond });
  } catch (error) {
    ledger.close();
    throw error;
  }
}
