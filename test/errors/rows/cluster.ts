// Sweep rows of privkit/server's scale-out over Redis (createCoordinator, createAggregator). They need
// a Redis: clusterEnv starts one (test/support/redis.ts) and a coordinator that publishes the task the
// aggregator row serves; closeClusterEnv stops both. A valid call starts a coordinator (its own task
// id and data directory) or an aggregator on a free port, reads its status, and closes it.
import { rmSync } from 'node:fs';
import * as server from 'privkit/server';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { int, obj, oneOf, opaque, positive, rngField, str, type SweepRow } from '../sweep-harness.js';
import { scratchDir } from '../../support/scratch.js';

const entry = 'privkit/server';
let redis: TestRedis | undefined;
let published: server.ClusterCoordinator | undefined;
const dirs: string[] = [];
const dataDir = (): string => {
  const dir = scratchDir('privkit-sweep-cluster-');
  dirs.push(dir);
  return dir;
};

// the fields of createServer's task row (rows/server.ts)
const task = (id: string) => ({
  id,
  model: { type: 'mlp' as const, inputs: 4, hidden: 3, classes: 2 },
  local: { epochs: 1, batchSize: 2, learningRate: 0.1 },
  rounds: 2,
  clientsPerRound: 2,
  minCheckIns: 3,
  minUpdates: 1,
  clipNorm: 1,
  noiseMultiplier: 1,
  targetEpsilon: 50,
  maxAbortedRounds: 3,
  delta: 1e-5,
  serverLearningRate: 1,
  trainMs: 1000,
});
const taskDomain = obj({
  id: str(64),
  model: obj({ type: oneOf(['softmax-regression', 'mlp']), inputs: int(1, 1 << 16, { optional: true }), classes: int(2, 256, { optional: true }), hidden: int(1, 1 << 16, { optional: true }) }),
  local: obj({ epochs: int(1, 1000), batchSize: int(1), learningRate: positive() }),
  rounds: int(1, 2 ** 20),
  clientsPerRound: int(1, 2),
  minCheckIns: int(2, 2 ** 30, { optional: true }),
  minUpdates: int(1, 2, { optional: true }),
  colludingClients: int(0, 2, { optional: true }),
  clipNorm: positive(),
  noiseMultiplier: positive(),
  targetEpsilon: positive({ optional: true }),
  maxAbortedRounds: int(1, 2 ** 20, { optional: true }),
  delta: { kind: 'number', above: 0, below: 1, optional: true },
  serverLearningRate: positive({ optional: true }),
  trainMs: int(1, 2 ** 31 - 1, { optional: true }),
});

/** Starts the Redis and the coordinator whose task the aggregator row serves. */
export async function clusterEnv(): Promise<void> {
  redis = await startRedis();
  published = await server.createCoordinator({ redis: redis.url, task: task('sweep-published'), dataDir: dataDir() });
}

/** Stops them and removes the data directories. */
export async function closeClusterEnv(): Promise<void> {
  await published?.close();
  await redis?.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export const clusterRows: SweepRow[] = [
  {
    entry,
    export: 'createCoordinator',
    params: [
      {
        name: 'options',
        domain: obj({
          redis: str(),
          task: taskDomain,
          dataDir: { ...opaque('a directory path: any string names one, and creating it is the valid outcome'), optional: true },
          leaseMs: int(1, 2 ** 31 - 1, { optional: true }),
          graceMs: int(1, 2 ** 31 - 1, { optional: true }),
          rng: rngField(),
        }),
      },
    ],
    args: () => [{ redis: redis!.url, task: task('sweep-coordinator'), dataDir: dataDir(), leaseMs: 2000, graceMs: 100, rng: undefined }],
    call: async ([options]) => {
      const coordinator = await server.createCoordinator(options);
      const { state, id, epsilon } = coordinator.status();
      await coordinator.close(); // releases the lease for the next call
      return { state, id, epsilon };
    },
    notApplicable: { 'options.dataDir=missing': 'the default ./data would be created in the working directory' },
    aliases: { 'options.task.model': ['spec'] },
  },
  {
    entry,
    export: 'createAggregator',
    params: [
      {
        name: 'options',
        domain: obj({
          redis: str(),
          taskId: str(64),
          id: str(64, { optional: true }),
          port: int(0, 65535, { optional: true }),
          host: { ...opaque('an interface name; a name that cannot be listened on is E_ARG options.host (DNS lookups of random names are not run)'), optional: true },
          aliveMs: int(1, 2 ** 31 - 1, { optional: true }),
          helloMs: int(1, 2 ** 31 - 1, { optional: true }),
          messagesPerSecond: int(1, 1e6, { optional: true }),
          maxUnauthenticated: int(1, 2 ** 20, { optional: true }),
        }),
      },
    ],
    args: () => [{ redis: redis!.url, taskId: 'sweep-published', id: 'sweep-aggregator', port: 0, host: '127.0.0.1', aliveMs: 1000, helloMs: 1000, messagesPerSecond: 10, maxUnauthenticated: 8 }],
    call: async ([options]) => {
      const aggregator = await server.createAggregator(options);
      const { id, taskId } = aggregator;
      await aggregator.close();
      return { id, taskId };
    },
    notApplicable: { 'options.port=missing': 'the default port 8080 may be taken on the machine' },
  },
];
