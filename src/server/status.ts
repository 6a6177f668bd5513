// The task status of privkit/server: one implementation for the one-process server (PrivkitServer.status
// and its GET /task) and the Redis coordinator (ClusterCoordinator.status), and the per-address rate
// limit of the server's HTTP endpoints.
//
// Adversary: any network peer that can reach the HTTP port (no authentication: the status is public,
// covered by the task's epsilon). A status is built from the ledger (every round, the bans) and the
// host's live state; it is cached and rebuilt only when either changed: the ledger's write counter
// (SQLite's total_changes(), so any committed write, whoever made it, invalidates it) or a live field
// (state, checked-in count, model version, epsilon). A flood of GET /task therefore costs a write of one
// shared buffer a request, not a ledger read, and each remote address (an IPv6 one by its /64: one host may hold
// all of it) may make at most httpRequestsPerSecond requests a second (a token bucket; beyond it: 429
// with Retry-After). Behind a reverse proxy every
// request comes from the proxy's address: limit per client there, or raise httpRequestsPerSecond.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ledger, LedgerRound } from './ledger.js';

/** Why a task finished (see {@link TaskStatus}). */
export type FinishedBy = 'rounds' | 'budget' | 'aborts';

/** A client banned from a task (see {@link TaskStatus.banned}). */
export interface BannedClient {
  /** The client's id. */
  clientId: string;
  /** The round whose messages proved the misbehaviour. */
  round: number;
  /** What the client did, as its own signed messages show. */
  reason: string;
}

/** What GET /task and PrivkitServer.status (or ClusterCoordinator.status) report (all of it public: covered by the epsilon). */
export interface TaskStatus {
  /** The task id. */
  id: string;
  /** 'waiting' for check-ins, 'training' a round, or 'finished'. */
  state: 'waiting' | 'training' | 'finished';
  /** Why the task finished: all rounds done, the budget, or maxAbortedRounds rounds aborted after their charge. */
  finishedBy?: FinishedBy;
  /** Rounds completed (released or withheld). */
  completedRounds: number;
  /** The latest model version (0: the initial model). */
  modelVersion: number;
  /** Clients checked in now. */
  checkedIn: number;
  /** Epsilon charged so far (at `delta`), for `observer`. */
  epsilon: number;
  /** The delta of epsilon. */
  delta: number;
  /** Who the epsilon holds for, given what they see. */
  observer: string;
  /**
   * 'secagg' only: epsilon against the aggregation server itself (it knows who took part: no amplification by
   * sampling); scaled out over Redis, against the coordinator, readers of Redis and each aggregator.
   */
  epsilonAgainstServer?: number;
  /**
   * Clients banned from the task for good (secure aggregation: a dealer of inconsistent shares, a holder
   * revealing a share its dealer never sent), in the order they were banned, and how many. Public: only a
   * client that broke the protocol is banned, whatever its data.
   */
  banned: {
    /** How many clients are banned. */
    count: number;
    /** Each of them, in the order they were banned. */
    clients: BannedClient[];
  };
  /** Every round in the ledger. */
  rounds: LedgerRound[];
}

/** What a host knows beyond its ledger (the parts of a status that change without a ledger write). */
export interface LiveStatus {
  state: TaskStatus['state'];
  finishedBy: FinishedBy | undefined;
  modelVersion: number;
  checkedIn: number;
  epsilon: number;
  epsilonAgainstServer: number | undefined;
}

/** @internal whether the ledger's rounds end the task, and why (all rounds completed, or too many aborted after their charge). */
export function endOfTask(task: { rounds: number; maxAbortedRounds: number }, rounds: readonly LedgerRound[]): FinishedBy | undefined {
  if (completed(rounds) >= task.rounds) return 'rounds';
  if (rounds.filter((r) => r.abortedBy === 'protocol').length >= task.maxAbortedRounds) return 'aborts';
  return undefined;
}

function completed(rounds: readonly LedgerRound[]): number {
  return rounds.filter((r) => r.status === 'released' || r.status === 'withheld').length;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * @internal the status of one task, cached until the ledger or the host's live state changes. Statuses
 * are frozen: the same object is returned while nothing changed.
 */
export class StatusCache {
  readonly #ledger: Ledger;
  readonly #task: { id: string; delta: number };
  readonly #observer: string;
  #ledgerVersion = -1;
  #stored: { rounds: LedgerRound[]; banned: TaskStatus['banned']; completed: number } | undefined;
  #liveKey = '';
  #status: TaskStatus | undefined;
  #body: Buffer | undefined;

  constructor(ledger: Ledger, task: { id: string; delta: number }, observer: string) {
    this.#ledger = ledger;
    this.#task = task;
    this.#observer = observer;
  }

  /** The task's status (the cached one while neither the ledger nor `live` changed). */
  status(live: LiveStatus): TaskStatus {
    const version = this.#ledger.changes();
    if (version !== this.#ledgerVersion || this.#stored === undefined) {
      const rounds = this.#ledger.rounds(this.#task.id);
      const clients = this.#ledger.bans(this.#task.id);
      this.#stored = { rounds, banned: { count: clients.length, clients }, completed: completed(rounds) };
      this.#ledgerVersion = version;
      this.#status = undefined;
    }
    const liveKey = JSON.stringify(live);
    if (this.#status === undefined || liveKey !== this.#liveKey) {
      const stored = this.#stored;
      this.#status = deepFreeze({
        id: this.#task.id,
        state: live.state,
        ...(live.finishedBy === undefined ? {} : { finishedBy: live.finishedBy }),
        completedRounds: stored.completed,
        modelVersion: live.modelVersion,
        checkedIn: live.checkedIn,
        epsilon: live.epsilon,
        delta: this.#task.delta,
        observer: this.#observer,
        ...(live.epsilonAgainstServer === undefined ? {} : { epsilonAgainstServer: live.epsilonAgainstServer }),
        banned: stored.banned,
        rounds: stored.rounds,
      });
      this.#liveKey = liveKey;
      this.#body = undefined;
    }
    return this.#status;
  }

  /**
   * The status as the JSON body of GET /task, serialized once per change into one buffer that every response
   * sends (a response whose peer reads slowly holds a reference to it, not a copy of its own).
   */
  body(live: LiveStatus): Buffer {
    const status = this.status(live);
    return (this.#body ??= Buffer.from(JSON.stringify(status), 'utf8'));
  }
}

/** Remote addresses whose buckets are kept; beyond it the one least recently seen is forgotten. */
const MAX_ADDRESSES = 4096;

/**
 * @internal the unit a peer is rate-limited by: an IPv4 address (also when a dual-stack socket shows it
 * mapped into IPv6, ::ffff:a.b.c.d), or the /64 prefix of an IPv6 address. A single IPv6 host is routinely
 * given a whole /64 (SLAAC, privacy addresses) and can send from any of its 2^64 addresses: keyed by the full
 * address, each request of a rotating peer found a fresh bucket, and the limit did not hold.
 */
export function rateLimitKey(address: string): string {
  const name = address.toLowerCase().replace(/%.*$/, ''); // a link-local zone (fe80::1%eth0) names the interface, not the peer
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(name); // how Node shows an IPv4 peer of a dual-stack socket
  if (mapped !== null) return mapped[1]!;
  if (!name.includes(':')) return name;
  const [head = '', tail] = name.split('::');
  // the groups of each side of '::' (an embedded IPv4 address counts as two; only their number matters here)
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const full = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${full.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * @internal a token bucket of `rate` requests (refilled at `rate` a second) per peer (rateLimitKey: an IPv4
 * address or an IPv6 /64). The map is bounded (MAX_ADDRESSES, least recently seen forgotten first): a peer
 * with more IPv4 addresses or IPv6 /64s than that gets a fresh bucket on each, and then the status cache is
 * what bounds its cost (forgetting a bucket only ever refills it: an honest peer is never locked out by it).
 */
export class AddressRateLimiter {
  readonly #rate: number;
  readonly #buckets = new Map<string, { tokens: number; refilledAt: number }>();

  constructor(rate: number) {
    this.#rate = rate;
  }

  /** Spends one token of the peer at `address`; returns 0 when allowed, else the seconds until the next token (Retry-After). */
  take(address: string): number {
    const key = rateLimitKey(address);
    const now = performance.now(); // monotonic: a wall clock stepped back must not put every bucket in debt (429 for as long as the step)
    const rate = this.#rate;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_ADDRESSES) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: rate, refilledAt: now };
    } else this.#buckets.delete(key); // re-inserted below: the map stays in order of last use
    this.#buckets.set(key, bucket);
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.refilledAt) / 1000) * rate);
    bucket.refilledAt = now;
    if (bucket.tokens < 1) return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
    bucket.tokens -= 1;
    return 0;
  }
}

/** @internal sends a JSON response (never cached by the peer). */
export function sendJson(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** @internal spends a token of the request's peer; when it has none, answers 429 with Retry-After and returns false. */
export function admitHttp(req: IncomingMessage, res: ServerResponse, limiter: AddressRateLimiter): boolean {
  const wait = limiter.take(req.socket.remoteAddress ?? '');
  if (wait > 0) sendJson(res, 429, JSON.stringify({ error: 'E_PROTOCOL', message: 'too many requests' }), { 'retry-after': String(wait) });
  return wait === 0;
}

/**
 * @internal answers one HTTP request of the server's endpoints: GET /health, and GET /task (or /tasks/<id>)
 * with the cached status body; each remote address rate-limited (429 with Retry-After).
 */
export function serveStatusHttp(req: IncomingMessage, res: ServerResponse, parts: { taskId: string; limiter: AddressRateLimiter; statusBody: () => Buffer }): void {
  const send = (status: number, body: string | Buffer): void => sendJson(res, status, body);
  if (!admitHttp(req, res, parts.limiter)) return;
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET') return send(405, JSON.stringify({ error: 'E_PROTOCOL', message: 'only GET' }));
  if (path === '/health') return send(200, JSON.stringify({ ok: true, task: parts.taskId }));
  if (path === '/task' || path === `/tasks/${parts.taskId}`) return send(200, parts.statusBody());
  send(404, JSON.stringify({ error: 'E_PROTOCOL', message: 'not found' }));
}
