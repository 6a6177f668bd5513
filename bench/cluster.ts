// `npm run bench cluster`: privkit/server scaled out over Redis on this machine: does a second
// aggregator process serve a central-DP cohort faster? A redis-server on a free local port; a
// coordinator in a process of its own (cluster-coordinator.ts); 1 or 2 aggregator processes; 400 or 1,000 clients in 2 other processes
// (with 2 aggregators, each process's clients connect to one of them), all sampled every round, a 10,000-parameter model (softmax
// regression, 999 inputs x 10 classes).
// On 2 cores the clients compete with the aggregators for the CPU, so three kinds of trial:
//   - light clients (cluster-light-clients.ts): the wire protocol with a precomputed update and no
//     local work, so that the aggregators are the bottleneck (what the goal is about: the serving
//     capacity of aggregator processes), with each aggregator pinned to a core of its own (taskset: one
//     aggregator process gets exactly one core in the 1-aggregator trial, as each does in the
//     2-aggregator one; the 1-aggregator trials take core 0 then core 1, the 2-aggregator ones cores
//     0, 1 then 1, 0; clients, coordinator and Redis have no core of their own on 2 cores and are left
//     to the scheduler), 400 and 1,000 clients, and unpinned at 400;
//   - privkit/client training one sample (cluster-clients.ts), unpinned, 400 clients.
// Two measures of each trial: the wall time of a round (between two consecutive round results: result
// broadcast, check-ins, sampling, model to the clients, uploads, clipping, partial sums, merge, noise,
// ledger commit), and the CPU time of every process over rounds 2-16 (each process's own count, sampled
// at the first and last round result). The CPU-based measure is a model of the server side on cores
// of its own: its critical path per round = the busiest aggregator's CPU + the coordinator's + Redis's
// (one each whatever the number of aggregators, taken as wholly serial); 2 aggregators over 1 is the
// ratio of critical paths. It is not a wall time. Configurations alternate 1, 2, 1, 2 aggregators so
// a change in the machine's load hits both; the load average is reported with each. Per aggregator the
// bench also reports what tells an uneven split of work from an uneven cost of the same work: its
// sampled clients, user and system CPU, socket reads and writes per client (/proc/PID/io), context
// switches and the time it waited for a core (/proc/PID/task/*/schedstat). Then the Redis
// figures docs/SCALE.md rests on: the throughput of partial-sum writes (HSET of a float64 vector, 10^4
// and 10^6 parameters) and of check-in writes (client id -> aggregator id, 10^6 of them in HSETs of
// 100 as an aggregator batches them, then the HGETALL snapshot of all 10^6), one client, pipelined.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import type { TaskOptions, TaskStatus } from '../src/server/index.js';
import { taskKeys } from '../src/server/redis.js';
import { startRedis } from '../test/support/redis.js';
import { textTable } from './harness.js';
import { schedStat, syscalls, type ProcessUsage } from './cluster-usage.js';

const CLIENT_PROCESSES = 2;
const INPUTS = 999; // (999 + 1) x 10 = 10,000 parameters
const PARAMS = (INPUTS + 1) * 10;
const ROUNDS = 16; // the first is not counted; 15 counted rounds even out a garbage collection that falls in one aggregator's window
const here = dirname(fileURLToPath(import.meta.url));

/**
 * A configuration: light clients (a precomputed update, no local work: cluster-light-clients.ts) or
 * privkit/client training one sample (cluster-clients.ts); each aggregator pinned to a core of its own
 * (aggregator i on core cores[i], taskset) or left to the scheduler. Clients, coordinator and Redis are never pinned.
 */
export interface Config {
  /** Clients, all sampled every round. */
  cohort: number;
  aggregators: number;
  clients: 'light' | 'full';
  /** Aggregator i runs on core cores[i] (taskset); none: unpinned. */
  cores?: number[];
}

/** What one aggregator did per counted round: its own counts (cluster-usage.ts) and the bench's readings of it. */
export type AggregatorRounds = ProcessUsage & {
  /** Its sampled clients per round (task frames the light clients received from it; NaN with privkit/client). */
  sampled: number;
  /** Ready to run, waiting for a core. */
  runQueueMs: number;
  /** Read and write system calls (sockets: a message read in more pieces costs more calls). */
  reads: number;
  writes: number;
};

/** A process's usage so far, with its threads' run-queue wait (ms; NaN without /proc). */
type Usage = Omit<AggregatorRounds, 'sampled'> & { tasks?: number[] };

export interface Trial extends Config {
  roundMs: number[];
  medianRoundMs: number;
  /** Wall time from the first counted round's start to the last one's end, per round. */
  wallMsPerRound: number;
  /** CPU ms per counted round, over the same window: each aggregator, the coordinator, Redis, the client processes together. */
  cpuMsPerRound: { aggregators: number[]; coordinator: number; redis: number; clients: number };
  aggregatorRounds: AggregatorRounds[];
  /** The server side's critical path per round in CPU ms: the busiest aggregator + the coordinator + Redis (one each, whatever the aggregators). */
  criticalPathMs: number;
  loadAverage: [number, number];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A child process of the bench and the lines it prints (stdout), taken in order by prefix. */
class Child {
  readonly process: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiting: { prefix: string; resolve: (rest: string) => void; reject: (error: Error) => void }[] = [];
  #partial = '';

  constructor(command: string, args: string[]) {
    this.process = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.process.stdout!.on('data', (chunk: Buffer) => {
      const parts = (this.#partial + chunk.toString()).split('\n');
      this.#partial = parts.pop()!;
      this.#lines.push(...parts);
      this.#match();
    });
    this.process.once('exit', (code) => {
      for (const w of this.#waiting.splice(0)) w.reject(new Error(`a bench child exited with ${code} before "${w.prefix}"`));
    });
  }

  /** The rest of the first line starting with `prefix` not yet taken. */
  line(prefix: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.process.exitCode !== null) return reject(new Error(`a bench child exited with ${this.process.exitCode} before "${prefix}"`));
      this.#waiting.push({ prefix, resolve, reject });
      this.#match();
    });
  }

  /** This child's usage so far (it answers a "cpu" line on stdin), with its threads' run-queue wait from /proc. */
  async usage(): Promise<Usage> {
    this.process.stdin!.write('cpu\n');
    const own = JSON.parse(await this.line('cpu ')) as ProcessUsage;
    const io = syscalls(this.process.pid!);
    return { ...own, runQueueMs: schedStat(this.process.pid!)?.waitMs ?? NaN, reads: io?.reads ?? NaN, writes: io?.writes ?? NaN };
  }

  /** Gives each waiter the first line with its prefix (a line goes to one waiter). */
  #match(): void {
    for (const w of [...this.#waiting]) {
      const i = this.#lines.findIndex((l) => l.startsWith(w.prefix));
      if (i < 0) continue;
      const [found] = this.#lines.splice(i, 1);
      this.#waiting.splice(this.#waiting.indexOf(w), 1);
      w.resolve(found!.slice(w.prefix.length).trim());
    }
  }
}

function spawnNode(script: string, args: string[], cpu?: number): Child {
  const node = [join(here, script), ...args];
  return cpu === undefined ? new Child(process.execPath, node) : new Child('taskset', ['-c', String(cpu), process.execPath, ...node]);
}

/** Redis's CPU time so far in ms (INFO cpu: the server's main thread and its helpers). */
async function redisCpu(redis: { info(section: string): Promise<string> }): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`\\b${name}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
  return 1000 * (field('used_cpu_user') + field('used_cpu_sys'));
}

export async function runTrial(redisUrl: string, config: Config, trial: number): Promise<Trial> {
  const task: TaskOptions = {
    id: `bench-${trial}`,
    model: { type: 'softmax-regression', inputs: INPUTS, classes: 10 },
    local: { epochs: 1, batchSize: 1, learningRate: 0.1 },
    rounds: ROUNDS,
    clientsPerRound: config.cohort,
    minUpdates: config.cohort / 2,
    clipNorm: 1,
    noiseMultiplier: 1,
    trainMs: 120000,
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-bench-cluster-'));
  const coordinator = spawnNode('cluster-coordinator.js', []);
  coordinator.process.stdin!.write(JSON.stringify({ redis: redisUrl, task, dataDir }) + '\n');
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  await coordinator.line('ready'); // the task is published: aggregators can start
  const aggregators = Array.from({ length: config.aggregators }, (_, a) => spawnNode('cluster-aggregator.js', [redisUrl, task.id, `a${a}`], config.cores?.[a]));
  const clients: Child[] = [];
  try {
    const ports = await Promise.all(aggregators.map((child) => child.line('ready ')));
    const urls = ports.map((port) => `ws://127.0.0.1:${port}`);
    // the aggregators each client process connects to (its clients round-robin over them): with as many aggregators as
    // processes, one each. A process that served both would couple them: one aggregator's clients would wait behind the
    // other's traffic in the same single-threaded process, which independent devices never do (see docs/SCALE.md)
    const servedBy = Array.from({ length: CLIENT_PROCESSES }, (_, p) =>
      config.aggregators >= CLIENT_PROCESSES ? aggregators.map((_, a) => a).filter((a) => a % CLIENT_PROCESSES === p) : [p % config.aggregators],
    );
    coordinator.process.stdin!.write(`tokens ${config.cohort}\n`);
    const tokens = JSON.parse(await coordinator.line('tokens ')) as string[];
    for (let p = 0; p < CLIENT_PROCESSES; p++) {
      const share = tokens.filter((_, i) => i % CLIENT_PROCESSES === p);
      const child = spawnNode(config.clients === 'light' ? 'cluster-light-clients.js' : 'cluster-clients.js', []);
      child.process.stdin!.write(JSON.stringify({ taskId: task.id, urls: servedBy[p]!.map((a) => urls[a]!), tokens: share, inputs: INPUTS, params: PARAMS }) + '\n');
      clients.push(child);
    }
    const done = clients.map((child) => child.line('done'));
    for (const d of done) d.catch(() => undefined); // awaited below; a trial that fails first kills the clients
    // CPU of every process over the counted rounds: sampled at the end of the first round and of the last
    const sample = async () => {
      const clientUsage = await Promise.all(clients.map((child) => child.usage()));
      return {
        at: performance.now(),
        aggregators: await Promise.all(aggregators.map((child) => child.usage())),
        clients: clientUsage.reduce((sum, u) => sum + u.userMs + u.systemMs, 0),
        // task frames the light clients received from each aggregator (its sampled clients); none from privkit/client
        tasks: aggregators.map((_, a) => clientUsage.reduce((sum, u, p) => sum + (servedBy[p]!.includes(a) ? (u.tasks?.[servedBy[p]!.indexOf(a)] ?? NaN) : 0), 0)),
        coordinator: (({ userMs, systemMs }) => userMs + systemMs)(await coordinator.usage()),
        redis: await redisCpu(redis),
      };
    };
    // round completions from the coordinator's result events (not its status(), whose epsilon would cost the coordinator CPU)
    let first: ReturnType<typeof sample> | undefined;
    let last: ReturnType<typeof sample> | undefined;
    const completions: number[] = [];
    const subscriber = redis.duplicate();
    await subscriber.connect();
    await subscriber.subscribe(taskKeys(task.id).events, (message) => {
      if (!message.startsWith('result ')) return;
      completions.push(performance.now());
      if (completions.length === 1) first = sample();
      if (completions.length === ROUNDS) last = sample();
    });
    const loadBefore = loadavg()[0]!;
    const final = JSON.parse(await coordinator.line('finished ')) as TaskStatus;
    for (let wait = 0; completions.length < ROUNDS && wait < 100; wait++) await new Promise((resolve) => setTimeout(resolve, 10)); // the last result's event
    subscriber.destroy();
    if (completions.length !== ROUNDS || final.rounds.some((r) => r.status !== 'released' || r.included !== config.cohort)) {
      throw new Error(`a bench round did not include all ${config.cohort} clients: ${JSON.stringify(final.rounds.map(({ round, status, included, checkedIn }) => ({ round, status, included, checkedIn })))}`);
    }
    const [from, to] = await Promise.all([first!, last!]);
    const counted = ROUNDS - 1;
    for (const child of aggregators) child.process.kill('SIGTERM');
    await Promise.all(done);
    for (const child of clients) child.process.stdin!.end();
    const roundMs = completions.slice(1).map((t, i) => t - completions[i]!);
    const perRound = (a: number, field: Exclude<keyof Usage, 'tasks'>) => (to.aggregators[a]![field] - from.aggregators[a]![field]) / counted;
    const aggregatorRounds = aggregators.map((_, a) => ({
      sampled: (to.tasks[a]! - from.tasks[a]!) / counted,
      userMs: perRound(a, 'userMs'),
      systemMs: perRound(a, 'systemMs'),
      voluntary: perRound(a, 'voluntary'),
      involuntary: perRound(a, 'involuntary'),
      idleMs: perRound(a, 'idleMs'),
      activeMs: perRound(a, 'activeMs'),
      runQueueMs: perRound(a, 'runQueueMs'),
      reads: perRound(a, 'reads'),
      writes: perRound(a, 'writes'),
    }));
    const cpuMsPerRound = {
      aggregators: aggregatorRounds.map((r) => r.userMs + r.systemMs),
      coordinator: (to.coordinator - from.coordinator) / counted,
      redis: (to.redis - from.redis) / counted,
      clients: (to.clients - from.clients) / counted,
    };
    return {
      ...config,
      roundMs,
      medianRoundMs: median(roundMs),
      wallMsPerRound: (completions[ROUNDS - 1]! - completions[0]!) / counted,
      cpuMsPerRound,
      aggregatorRounds,
      criticalPathMs: Math.max(...cpuMsPerRound.aggregators) + cpuMsPerRound.coordinator + cpuMsPerRound.redis,
      loadAverage: [loadBefore, loadavg()[0]!],
    };
  } finally {
    for (const child of [...aggregators, ...clients]) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    redis.destroy();
    if (coordinator.process.exitCode === null) {
      coordinator.process.kill('SIGTERM'); // releases its lease and closes its ledger
      await new Promise((resolve) => coordinator.process.once('exit', resolve));
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Throughput {
  write: string;
  valueBytes: number;
  writes: number;
  opsPerSecond: number;
  megabytesPerSecond: number;
  /** For check-ins: reading the whole hash back with HGETALL (the coordinator's snapshot). */
  snapshot?: { fields: number; ms: number };
}

/** Writes `count` fields of `valueBytes` bytes with HSETs of `fieldsPerWrite` fields, `inFlight` HSETs at a time; returns the rate. */
async function measureWrites(redisUrl: string, write: string, valueBytes: number, count: number, inFlight: number, fieldsPerWrite = 1): Promise<Throughput> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    const value = Buffer.alloc(valueBytes, 7);
    const key = `bench:${write}`;
    const start = performance.now();
    const field = (i: number) => `c-${String(i).padStart(12, '0')}`; // as long as a client id
    for (let i = 0; i < count; i += inFlight * fieldsPerWrite) {
      const batch = [];
      for (let w = i; w < Math.min(count, i + inFlight * fieldsPerWrite); w += fieldsPerWrite) {
        const fields = Array.from({ length: Math.min(fieldsPerWrite, count - w) }, (_, f) => [field(w + f), value]).flat();
        batch.push(client.hSet(key, fields));
      }
      await Promise.all(batch);
      if (valueBytes > 1024) await client.del(key); // keep memory bounded: the coordinator deletes each round's partials
    }
    const seconds = (performance.now() - start) / 1000;
    let snapshot: Throughput['snapshot'];
    if (valueBytes <= 1024) {
      // the coordinator's snapshot of the check-ins: one HGETALL of the whole hash
      const t0 = performance.now();
      const all = await client.hGetAll(key);
      const fields = Object.keys(all).length;
      snapshot = { fields, ms: performance.now() - t0 };
    }
    await client.del(key);
    return { write, valueBytes, writes: count, opsPerSecond: count / seconds, megabytesPerSecond: (count * valueBytes) / seconds / 1e6, ...(snapshot === undefined ? {} : { snapshot }) };
  } finally {
    client.destroy();
  }
}

/** The speed-ups of 2 aggregators over 1 among trials of one kind: wall (median round) and CPU-based (critical path). */
function speedups(trials: Trial[]): { wall: number; cpu: number } {
  const of = (a: number) => trials.filter((t) => t.aggregators === a);
  return {
    wall: median(of(1).flatMap((t) => t.roundMs)) / median(of(2).flatMap((t) => t.roundMs)),
    cpu: median(of(1).map((t) => t.criticalPathMs)) / median(of(2).map((t) => t.criticalPathMs)),
  };
}

export async function clusterSuite(): Promise<void> {
  const redis = await startRedis();
  try {
    const throughput = [
      await measureWrites(redis.url, 'partial sum, 10^4 params (float64)', 8 * (1 + 1e4), 2000, 16),
      await measureWrites(redis.url, 'partial sum, 10^6 params (float64)', 8 * (1 + 1e6), 40, 4),
      await measureWrites(redis.url, 'check-ins (client id -> aggregator id), 100 per HSET', 10, 1000000, 10, 100),
    ];
    // 1, 2, 1, 2 aggregators in each kind, so that a change in the machine's load hits both
    // pinned kinds: the 1-aggregator trials take core 0 then core 1, the 2-aggregator ones cores 0, 1 then 1, 0, so that
    // neither a core nor an aggregator's place in the order of Redis's subscribers (a0 hears of a round first) favours one side
    const kinds: { cohort: number; clients: Config['clients']; pinned: boolean }[] = [
      { cohort: 400, clients: 'light', pinned: true },
      { cohort: 1000, clients: 'light', pinned: true },
      { cohort: 400, clients: 'light', pinned: false },
      { cohort: 400, clients: 'full', pinned: false },
    ];
    const trials: (Trial & { pinned: boolean })[] = [];
    for (const { pinned, ...kind } of kinds) {
      for (const [i, aggregators] of [1, 2, 1, 2].entries()) {
        const cores = pinned ? (i < 2 ? [0, 1] : [1, 0]).slice(0, aggregators) : undefined;
        trials.push({ ...(await runTrial(redis.url, { ...kind, aggregators, ...(cores === undefined ? {} : { cores }) }, trials.length)), pinned });
      }
    }
    console.log(
      `\nprivkit/server over Redis, central DP: a cohort of clients x ${PARAMS} params, all sampled, clients in ${CLIENT_PROCESSES} processes; round wall time (ms);` +
        ` CPU ms per round of each process over rounds 2-${ROUNDS}; critical path = busiest aggregator + coordinator + Redis (CPU ms, a model, not wall time)`,
    );
    const each = (t: Trial, value: (r: AggregatorRounds) => string) => t.aggregatorRounds.map(value).join(' + ');
    const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '-'); // no counts from privkit/client clients
    console.log(
      textTable(
        ['cohort', 'clients', 'cores', 'aggregators', 'median round (wall)', 'CPU/round: aggregators', 'coordinator', 'Redis', 'clients', 'critical path (CPU)', 'load before, after'],
        trials.map((t) => [
          String(t.cohort),
          t.clients,
          t.cores === undefined ? 'any' : t.cores.join(', '),
          String(t.aggregators),
          t.medianRoundMs.toFixed(0),
          t.cpuMsPerRound.aggregators.map((x) => x.toFixed(0)).join(' + '),
          t.cpuMsPerRound.coordinator.toFixed(1),
          t.cpuMsPerRound.redis.toFixed(1),
          t.cpuMsPerRound.clients.toFixed(0),
          t.criticalPathMs.toFixed(0),
          t.loadAverage.map((x) => x.toFixed(2)).join(', '),
        ]),
      ),
    );
    // what each aggregator did per round: how evenly the work was split, and what its CPU went on
    console.log('\nper aggregator and round: sampled clients; CPU user + system (ms); socket reads and writes per sampled client; context switches voluntary / forced; waiting for a core (ms)');
    console.log(
      textTable(
        ['cohort', 'clients', 'cores', 'aggregators', 'sampled', 'user + system', 'reads/client', 'writes/client', 'switches', 'run-queue wait'],
        trials.map((t) => [
          String(t.cohort),
          t.clients,
          t.cores === undefined ? 'any' : t.cores.join(', '),
          String(t.aggregators),
          each(t, (r) => fixed(r.sampled, 0)),
          each(t, (r) => `${r.userMs.toFixed(0)}+${r.systemMs.toFixed(0)}`),
          each(t, (r) => fixed(r.reads / r.sampled, 2)),
          each(t, (r) => fixed(r.writes / r.sampled, 2)),
          each(t, (r) => `${r.voluntary.toFixed(0)}/${r.involuntary.toFixed(0)}`),
          each(t, (r) => r.runQueueMs.toFixed(0)),
        ]),
      ),
    );
    const ratios = kinds.map((kind) => ({ ...kind, ...speedups(trials.filter((t) => t.cohort === kind.cohort && t.clients === kind.clients && t.pinned === kind.pinned)) }));
    for (const r of ratios) {
      console.log(`${r.cohort} ${r.clients} clients, ${r.pinned ? 'aggregators pinned' : 'unpinned'}: 2 aggregators over 1: wall ${r.wall.toFixed(2)}x, CPU-based (critical path) ${r.cpu.toFixed(2)}x (goal >= 1.7x) on ${cpus().length} cores`);
    }
    console.log('\nRedis writes, one client, pipelined');
    console.log(
      textTable(
        ['write', 'value bytes', 'fields/s', 'MB/s'],
        throughput.map((t) => [t.write, String(t.valueBytes), t.opsPerSecond.toFixed(0), t.megabytesPerSecond.toFixed(0)]),
      ),
    );
    for (const { snapshot } of throughput) if (snapshot !== undefined) console.log(`snapshot of ${snapshot.fields} check-ins (HGETALL): ${snapshot.ms.toFixed(0)} ms`);
    const file = join(here, '../../bench/results/cluster.json');
    mkdirSync(dirname(file), { recursive: true });
    const machine = { cpu: cpus()[0]?.model, cores: cpus().length, platform: `${platform()} ${release()}`, node: process.version };
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, params: PARAMS, trials, speedups: ratios, throughput }, null, 2) + '\n');
  } finally {
    await redis.stop();
  }
}
