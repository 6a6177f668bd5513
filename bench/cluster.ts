// `npm run bench cluster`: privkit/server scaled out over Redis on this machine. A redis-server on a
// free local port; a coordinator in this process; 1 or 2 aggregator processes; 200 clients in 2 other
// processes (privkit/client over real sockets, spread round-robin over the aggregators) training a
// 10,000-parameter model (softmax regression, 999 inputs x 10 classes), all 200 sampled every round.
// A round's wall time is the time between two consecutive round completions in the ledger (the
// whole cycle: result broadcast, check-ins, sampling, model to 200 clients, training, 200 uploads,
// clipping, partial sums, merge, noise, ledger commit); the first round (connections, JIT) is not
// counted. Configurations alternate 1, 2, 1, 2 aggregators so a change in the machine's load hits
// both; the load average is reported with each. Then the Redis figures docs/SCALE.md rests on: the
// throughput of partial-sum writes (HSET of a float64 vector, 10^4 and 10^6 parameters) and of
// check-in writes (client id -> aggregator id, 10^6 of them in HSETs of 100 as an aggregator batches
// them, then the HGETALL snapshot of all 10^6), one client, pipelined.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { createCoordinator, type TaskOptions } from '../src/server/index.js';
import { startRedis } from '../test/support/redis.js';
import { textTable } from './harness.js';

const CLIENTS = 200;
const CLIENT_PROCESSES = 2;
const INPUTS = 999; // (999 + 1) x 10 = 10,000 parameters
const ROUNDS = 7; // the first is not counted
const here = dirname(fileURLToPath(import.meta.url));

interface Trial {
  aggregators: number;
  roundMs: number[];
  medianRoundMs: number;
  aggregatorCpuMsPerRound: number;
  clientCpuMsPerRound: number;
  coordinatorCpuMsPerRound: number;
  loadAverage: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function spawnNode(script: string, args: string[], stdin?: string): ChildProcess {
  const child = spawn(process.execPath, [join(here, script), ...args], { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'inherit'] });
  if (stdin !== undefined) child.stdin!.end(stdin);
  return child;
}

function lineOf(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.once('exit', (code) => reject(new Error(`a bench child exited with ${code} before "${prefix}"`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((l) => l.startsWith(prefix));
      if (line !== undefined) resolve(line.slice(prefix.length).trim());
    });
  });
}

async function runTrial(redisUrl: string, aggregatorCount: number, trial: number): Promise<Trial> {
  const task: TaskOptions = {
    id: `bench-${trial}`,
    model: { type: 'softmax-regression', inputs: INPUTS, classes: 10 },
    local: { epochs: 1, batchSize: 1, learningRate: 0.1 },
    rounds: ROUNDS,
    clientsPerRound: CLIENTS,
    minUpdates: CLIENTS / 2,
    clipNorm: 1,
    noiseMultiplier: 1,
    trainMs: 120000,
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-bench-cluster-'));
  const coordinator = await createCoordinator({ redis: redisUrl, task, dataDir });
  const aggregators = Array.from({ length: aggregatorCount }, (_, a) => spawnNode('cluster-aggregator.js', [redisUrl, task.id, `a${a}`]));
  const clients: ChildProcess[] = [];
  try {
    const ports = await Promise.all(aggregators.map((child) => lineOf(child, 'ready ')));
    const urls = ports.map((port) => `ws://127.0.0.1:${port}`);
    const tokens = await Promise.all(Array.from({ length: CLIENTS }, async () => (await coordinator.issueToken()).token));
    const loadBefore = loadavg()[0]!;
    const coordinatorCpu = process.cpuUsage(); // this process: the coordinator (and the bench's polling)
    for (let p = 0; p < CLIENT_PROCESSES; p++) {
      const share = tokens.filter((_, i) => i % CLIENT_PROCESSES === p);
      // client i of process p goes to aggregator (i mod aggregators): both processes spread over all of them
      clients.push(spawnNode('cluster-clients.js', [], JSON.stringify({ taskId: task.id, urls, tokens: share, inputs: INPUTS })));
    }
    const clientCpu = clients.map((child) => lineOf(child, 'cpu ').then(Number));
    for (const cpu of clientCpu) cpu.catch(() => undefined); // awaited below; a trial that fails first kills the clients
    const completions: number[] = [];
    const watch = setInterval(() => {
      const done = coordinator.status().completedRounds;
      while (completions.length < done) completions.push(performance.now());
    }, 5);
    const final = await coordinator.finished;
    clearInterval(watch);
    const { user, system } = process.cpuUsage(coordinatorCpu);
    while (completions.length < final.completedRounds) completions.push(performance.now());
    if (final.rounds.some((r) => r.status !== 'released' || r.included !== CLIENTS)) {
      throw new Error(`a bench round did not include all ${CLIENTS} clients: ${JSON.stringify(final.rounds.map(({ round, status, included, checkedIn }) => ({ round, status, included, checkedIn })))}`);
    }
    const cpuMs = await Promise.all(
      aggregators.map((child) => {
        const cpu = lineOf(child, 'cpu ');
        child.kill('SIGTERM');
        return cpu.then(Number);
      }),
    );
    const roundMs = completions.slice(1).map((t, i) => t - completions[i]!);
    return {
      aggregators: aggregatorCount,
      roundMs,
      medianRoundMs: median(roundMs),
      aggregatorCpuMsPerRound: cpuMs.reduce((a, b) => a + b, 0) / ROUNDS,
      clientCpuMsPerRound: (await Promise.all(clientCpu)).reduce((a, b) => a + b, 0) / ROUNDS,
      coordinatorCpuMsPerRound: (user + system) / 1000 / ROUNDS,
      loadAverage: (loadBefore + loadavg()[0]!) / 2,
    };
  } finally {
    for (const child of [...aggregators, ...clients]) if (child.exitCode === null) child.kill('SIGKILL');
    await coordinator.close();
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

export async function clusterSuite(): Promise<void> {
  const redis = await startRedis();
  try {
    const throughput = [
      await measureWrites(redis.url, 'partial sum, 10^4 params (float64)', 8 * (1 + 1e4), 2000, 16),
      await measureWrites(redis.url, 'partial sum, 10^6 params (float64)', 8 * (1 + 1e6), 40, 4),
      await measureWrites(redis.url, 'check-ins (client id -> aggregator id), 100 per HSET', 10, 1000000, 10, 100),
    ];
    const trials: Trial[] = [];
    for (const [i, aggregators] of [1, 2, 1, 2].entries()) trials.push(await runTrial(redis.url, aggregators, i));
    const one = median(trials.filter((t) => t.aggregators === 1).flatMap((t) => t.roundMs));
    const two = median(trials.filter((t) => t.aggregators === 2).flatMap((t) => t.roundMs));
    console.log(`\nprivkit/server over Redis: ${CLIENTS} clients x 10,000 params, all sampled, clients in ${CLIENT_PROCESSES} processes; round wall time (ms); CPU ms per round of each kind of process, start-up included, over all ${ROUNDS} rounds`);
    console.log(
      textTable(
        ['aggregators', 'median round', 'rounds (ms)', 'CPU ms / round: aggregators', 'clients', 'coordinator', 'load average'],
        trials.map((t) => [
          String(t.aggregators),
          t.medianRoundMs.toFixed(0),
          t.roundMs.map((x) => x.toFixed(0)).join(' '),
          t.aggregatorCpuMsPerRound.toFixed(0),
          t.clientCpuMsPerRound.toFixed(0),
          t.coordinatorCpuMsPerRound.toFixed(0),
          t.loadAverage.toFixed(1),
        ]),
      ),
    );
    console.log(`speed-up of 2 aggregators over 1 (median round): ${(one / two).toFixed(2)}x (goal >= 1.7x) on ${cpus().length} cores`);
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
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, clients: CLIENTS, params: 10000, trials, speedup: one / two, throughput }, null, 2) + '\n');
  } finally {
    await redis.stop();
  }
}
