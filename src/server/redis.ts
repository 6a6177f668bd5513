// The Redis side of privkit/server's scale-out (cluster.ts): loading the optional peer dependency
// `redis` (node-redis), the key layout of one task, and the coordinator's lock with a fencing token.
//
// Keys of task T (all under `privkit:T:`):
//   task          JSON of what aggregators need to serve clients (model spec, local options, clipNorm, trainMs;
//                 with secure aggregation the noise plan's inputs, bits, neighbours, phaseMs)
//   tokens        hash  SHA-256(token) hex -> client id            (mirrored from the coordinator's ledger)
//   keys, owners  hashes client id -> Ed25519 key hex, key hex -> client id (secure aggregation: enrolled
//                 by aggregators, once per client and key; the coordinator binds a sample's candidates in its ledger)
//   bans          hash  client id -> JSON {round, reason}: the round that convicted it and why (secure
//                 aggregation: a dealer of inconsistent shares, a holder revealing a share never sent; kept in the ledger)
//   checkins      hash  client id -> aggregator id                 (clients checked in now)
//   alive:A       aggregator A's heartbeat, a key with a TTL
//   model         hash  version, params (float32 little-endian)    (the latest released model)
//   round         hash  round, fence, version, trainMs, s:A (aggregator A's sampled client ids, comma-separated);
//                 secure aggregation: rot (the round's rotation seed, hex) and, once charged, admit (the shards to unmask)
//   part:R        hash  A -> aggregator A's partial sum of round R: float64 count, then float64 x paramCount;
//                 secure aggregation: r:A (shard A's survivors once its consistency check closed, 0 if withheld)
//                 and s:A (its unmasked sum: uint32 included, then uint32 x rotated length; empty if it failed)
//   opened        the number of the last round a coordinator opened (a coordinator on another ledger, which
//                 would charge the task from zero, is refused at start)
//   finished      'rounds' or 'budget' once the task has ended
//   lock, epoch   the coordinator lock (value: its fencing token) and the counter tokens come from
//   channel events: 'round R', 'admit R', 'result {json}', 'finished' (the coordinator's wake-ups of aggregators)
//   channel wakeups: 'checkin', 'part R A' (aggregators' wake-ups of the coordinator: on a channel of their own, so
//                 that no aggregator hears every other aggregator's check-in batches and partials)
//   (the keys hold the state; a message only wakes its reader)
//
// The lock (Kleppmann's fencing tokens over a lease, https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html):
// a coordinator takes `lock` with SET NX PX ttl, its value a token from INCR `epoch`, and renews it
// while it lives. Every write by which a coordinator acts on the cluster (publishing a round's sample,
// a model, a result) is a Lua script that first checks `lock` still holds its token, atomically
// with the write: a coordinator whose lease lapsed (paused, partitioned) and was taken over by another
// cannot publish anything, even if it does not know yet. Aggregators also drop a round whose fence is
// lower than one they have already seen.
import { createRequire } from 'node:module';
import { PrivkitError } from '../errors.js';

/** The node-redis client type privkit uses (a structural subset of RedisClientType). */
export type RedisClient = import('redis').RedisClientType;

type RedisModule = typeof import('redis');

/** Loads the optional peer dependency `redis` (node-redis 6.x). */
export function loadRedis(): RedisModule {
  try {
    return createRequire(import.meta.url)('redis') as RedisModule;
  } catch (cause) {
    throw new PrivkitError('E_ARG', 'privkit/server scale-out needs its optional peer dependency redis 6.x: npm install redis@6', { argument: 'redis', cause });
  }
}

/** Connects a client to `url`; a connection that fails rejects with E_ARG naming `argument`. */
export async function connectRedis(url: string, argument: string): Promise<RedisClient> {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw new PrivkitError('E_ARG', `${argument} must be a redis:// or rediss:// URL, got ${typeof url === 'string' ? JSON.stringify(url) : typeof url}`, { argument });
  }
  const { createClient } = loadRedis();
  // reconnects with a short back-off; commands issued while disconnected wait in the offline queue
  const client = createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000) } }) as RedisClient;
  client.on('error', () => undefined); // reported through the failing commands; an unhandled 'error' would end the process
  try {
    await client.connect();
  } catch (cause) {
    client.destroy();
    throw new PrivkitError('E_ARG', `cannot connect to Redis at ${argument}: ${(cause as Error).message}`, { argument, cause });
  }
  return client;
}

/** Binary (Buffer) replies of `client` for keys holding packed vectors. */
export function binary(client: RedisClient): RedisClient {
  const { RESP_TYPES } = loadRedis();
  return client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as RedisClient;
}

/** The key names of one task. */
export function taskKeys(taskId: string) {
  const p = `privkit:${taskId}:`;
  return {
    task: `${p}task`,
    tokens: `${p}tokens`,
    keys: `${p}keys`,
    owners: `${p}owners`,
    bans: `${p}bans`,
    checkins: `${p}checkins`,
    alive: (aggregator: string) => `${p}alive:${aggregator}`,
    model: `${p}model`,
    round: `${p}round`,
    part: (round: number) => `${p}part:${round}`,
    opened: `${p}opened`,
    finished: `${p}finished`,
    lock: `${p}lock`,
    epoch: `${p}epoch`,
    events: `${p}events`,
    wakeups: `${p}wakeups`,
  };
}

/** The key names of one task (see the file header). */
export type TaskKeys = ReturnType<typeof taskKeys>;

// KEYS[1] lock; ARGV[1] token, ARGV[2] ttl ms: 1 when the lock was free and is now ours
const ACQUIRE = `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`;
// the same arguments: 1 when the lock still holds the token (extended); a lapsed lease is not taken again
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

// A fenced batch: KEYS[1] lock, KEYS[2..] the keys the commands name by index; ARGV[1] token, ARGV[2] the
// commands as JSON [[name, arg, ...], ...] where an arg {"k": i} stands for KEYS[i] and {"b": i} for
// ARGV[i] (binary values travel as their own ARGV). Runs every command only while the lock holds the token.
const FENCED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for _, command in ipairs(cjson.decode(ARGV[2])) do
  local args = {}
  for i, a in ipairs(command) do
    if type(a) == 'table' then
      if a.k then args[i] = KEYS[a.k] else args[i] = ARGV[a.b] end
    else args[i] = a end
  end
  redis.call(unpack(args))
end
return 1`;

/** One command of a fenced batch: strings as given, `{ key }` a key, `{ bytes }` a binary value. */
export type FencedArg = string | number | { key: string } | { bytes: Buffer };

/**
 * The coordinator's lease on a task: a lock with a TTL whose value is a fencing token from a counter
 * (see the file header). {@link Lease.run} performs writes only while the lease is held.
 */
export class Lease {
  readonly #client: RedisClient;
  readonly #keys: TaskKeys;
  readonly #ttlMs: number;
  #token = '';

  constructor(client: RedisClient, keys: TaskKeys, ttlMs: number) {
    this.#client = client;
    this.#keys = keys;
    this.#ttlMs = ttlMs;
  }

  /** Milliseconds the lease lasts unless renewed. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** The fencing token (a decimal integer, larger for every new lease); '' before {@link acquire}. */
  get token(): string {
    return this.#token;
  }

  /** Takes the lock, waiting up to waitMs for a previous holder's lease to lapse; false when it did not. */
  async acquire(waitMs: number): Promise<boolean> {
    this.#token = String(await this.#client.incr(this.#keys.epoch));
    const until = Date.now() + waitMs;
    for (;;) {
      if ((await this.#client.eval(ACQUIRE, { keys: [this.#keys.lock], arguments: [this.#token, String(this.#ttlMs)] })) === 1) return true;
      if (Date.now() >= until) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, this.#ttlMs / 4)));
    }
  }

  /** Renews the lease; false when the lock is no longer this lease's (it lapsed, whether or not another took it). */
  async renew(): Promise<boolean> {
    return (await this.#client.eval(RENEW, { keys: [this.#keys.lock], arguments: [this.#token, String(this.#ttlMs)] })) === 1;
  }

  /** Releases the lock if it is still this lease's. */
  async release(): Promise<void> {
    await this.run([['DEL', { key: this.#keys.lock }]]);
  }

  /** Runs the commands atomically if the lease still holds; false (and nothing written) when it does not. */
  async run(commands: FencedArg[][]): Promise<boolean> {
    const keys: string[] = [this.#keys.lock];
    const args: (string | Buffer)[] = [this.#token, ''];
    const encoded = commands.map((command) =>
      command.map((a) => {
        if (typeof a === 'string') return a;
        if (typeof a === 'number') return String(a);
        if ('key' in a) return { k: keys.push(a.key) };
        return { b: args.push(a.bytes) };
      }),
    );
    args[1] = JSON.stringify(encoded);
    return (await this.#client.eval(FENCED, { keys, arguments: args as string[] })) === 1;
  }
}
