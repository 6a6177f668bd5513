// What each platform (src/platform/node.ts, src/platform/browser.ts) provides to the pool.
import type { Endpoint } from 'comlink';

export interface SpawnedWorker {
  endpoint: Endpoint;
  terminate(): Promise<void>;
  /** The platform's worker object (worker_threads Worker or Web Worker), for diagnostics. */
  raw: unknown;
}
