// Node side of the platform seam (selected by the `#platform` import condition "node"): pool
// workers are worker_threads running src/pool/worker.ts.
import { cpus } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import type { Platform } from './types.js';

export const platform = {
  spawnPoolWorker(events) {
    const worker = new Worker(new URL('../pool/worker.js', import.meta.url));
    let terminating = false;
    worker.on('message', (data: unknown) => events.message(data));
    worker.on('error', (error) => events.crash(`worker error: ${error.message}`));
    worker.on('messageerror', () => events.crash('worker message could not be deserialized'));
    worker.on('exit', (code) => {
      if (!terminating) events.crash(`worker exited with code ${code}`);
    });
    return {
      raw: worker,
      post: (message, transfer) => worker.postMessage(message, transfer),
      terminate: async () => {
        terminating = true;
        await worker.terminate();
      },
    };
  },

  poolWorkerPort() {
    const port = parentPort;
    if (port === null) throw new Error('the pool worker must run in a worker thread');
    return {
      post: (message, transfer) => port.postMessage(message, transfer),
      listen: (receive) => port.on('message', receive),
    };
  },

  defaultThreads: () => Math.max(1, cpus().length),

  /** Node always has SharedArrayBuffer, so pooled inputs are shared, not copied, with workers. */
  canShareMemory: () => true,
} satisfies Platform;
