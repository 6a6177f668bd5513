// The deployment of the Redis scale-out tests (test/e2e/cluster*.test.ts): a redis-server started
// before the file's tests, aggregator child processes (test/e2e/fixtures/cluster-aggregator.mjs) and ledger
// directories, all torn down after them.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ready } from 'privkit';
import { startRedis, type TestRedis } from './redis.js';
import { scratchDir } from './scratch.js';
import { createClient } from 'redis';

/** An aggregator child process and the URL its clients connect to. */
export interface ChildAggregator {
  child: ChildProcess;
  url: string;
}

/** Registers the file's beforeAll / afterAll; `url` is the Redis URL once the tests run. */
export function clusterFixture() {
  let redis: TestRedis | undefined;
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    await ready();
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await redis?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get url(): string {
      return redis!.url;
    },
    /** A fresh ledger directory. */
    dataDir: (): string => {
      const dir = scratchDir('privkit-cluster-');
      dirs.push(dir);
      return dir;
    },
    /** Starts an aggregator process of the task; resolves once it serves clients. */
    startAggregator: (taskId: string, id: string): Promise<ChildAggregator> => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '../e2e/fixtures/cluster-aggregator.mjs'), redis!.url, taskId, id], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      return new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`aggregator ${id} exited early with ${code}`)));
        child.stdout!.on('data', (chunk: Buffer) => {
          const port = /ready (\d+)/.exec(chunk.toString())?.[1];
          if (port !== undefined) resolve({ child, url: `ws://127.0.0.1:${port}` });
        });
      });
    },
  };
}

/**
 * Reads each round's hash as any reader of Redis sees it, when the coordinator announces the round:
 * `onRound(round, hash)` gets the sample (s:A), the candidate counts (n:A) and, with secure
 * aggregation, the rotation seed (rot). Call the returned stop() when done.
 */
export async function watchRounds(url: string, taskId: string, onRound: (round: number, hash: Record<string, string>) => void): Promise<() => void> {
  const watcher = createClient({ url });
  watcher.on('error', () => undefined);
  await watcher.connect();
  const subscriber = watcher.duplicate();
  subscriber.on('error', () => undefined);
  await subscriber.connect();
  await subscriber.subscribe(`privkit:${taskId}:events`, (message) => {
    if (!message.startsWith('round ')) return;
    const round = Number(message.slice(6));
    void watcher.hGetAll(`privkit:${taskId}:round`).then((hash) => {
      if (Number(hash.round) === round) onRound(round, hash);
    });
  });
  return () => (subscriber.destroy(), watcher.destroy());
}

