// Node side of the platform seam (selected by the `#platform` import condition "node"): pool
// workers are worker_threads running src/pool/worker.ts. A string worker URL is a file path, or a
// URL when it starts with a scheme such as file: or data:.
import { cpus } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import type { Platform } from './types.js';

const defaultWorker = (): URL => new URL('../pool/worker.js', import.meta.url);

/** A worker script as worker_threads takes it: a string with a scheme (two letters or more) as a URL, else the path. */
const scriptOf = (url: string | URL): string | URL => (typeof url === 'string' && /^[a-z][a-z0-9+.-]+:/i.test(url) ? new URL(url) : url);

export const platform = {
  spawnPoolWorker(events, url) {
    const worker = new Worker(url === undefined ? defaultWorker() : scriptOf(url));
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
      hold: (busy) => (busy ? worker.ref() : worker.unref()),
      terminate: async () => {
        terminating = true;
        await worker.terminate();
      },
    };
  },

  defaultWorkerUrl: () => defaultWorker().href,

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
