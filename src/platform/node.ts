// Node side of the platform seam (selected by the `#platform` import condition "node"):
// kernel workers are worker_threads, wrapped for Comlink by its node adapter.
import { cpus } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import type { Endpoint } from 'comlink';
// @ts-expect-error comlink ships the node adapter without an exports entry or types for this path
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { SpawnedWorker } from './types.js';

export function spawnKernelWorker(onCrash: (reason: string) => void): SpawnedWorker {
  const worker = new Worker(new URL('../../workers/kernel-worker.js', import.meta.url));
  let terminating = false;
  worker.on('error', (error) => onCrash(`worker error: ${error.message}`));
  worker.on('exit', (code) => {
    if (!terminating) onCrash(`worker exited with code ${code}`);
  });
  return {
    raw: worker,
    endpoint: (nodeEndpoint as (w: Worker) => Endpoint)(worker),
    terminate: async () => {
      terminating = true;
      await worker.terminate();
    },
  };
}

/** The endpoint a kernel worker exposes its API on. */
export function workerEndpoint(): Endpoint {
  if (parentPort === null) throw new Error('kernel-worker must run in a worker thread');
  return (nodeEndpoint as (p: typeof parentPort) => Endpoint)(parentPort);
}

export function defaultThreads(): number {
  return Math.max(1, cpus().length);
}

/** Node always has SharedArrayBuffer, so pooled inputs are shared, not copied, with workers. */
export function canShareMemory(): boolean {
  return true;
}
