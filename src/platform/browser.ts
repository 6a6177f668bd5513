// Browser side of the platform seam (the default `#platform` condition): pool workers are module
// Web Workers running src/pool/worker.ts. The `new Worker(new URL(...), { type: 'module' })` form
// is what bundlers such as Vite and webpack recognize, so the worker script is emitted without
// configuration.
import type { Platform } from './types.js';

/** The global scope of a worker, as this module uses it. */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

export const platform = {
  spawnPoolWorker(events) {
    const worker = new Worker(new URL('../pool/worker.js', import.meta.url), { type: 'module' });
    worker.addEventListener('message', (event) => events.message(event.data));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      events.crash(`worker error: ${event.message || 'failed to load or crashed'}`);
    });
    worker.addEventListener('messageerror', () => events.crash('worker message could not be deserialized'));
    return {
      raw: worker,
      post: (message, transfer) => worker.postMessage(message, transfer),
      terminate: async () => worker.terminate(),
    };
  },

  poolWorkerPort() {
    const scope = self as unknown as WorkerScope;
    return {
      post: (message, transfer = []) => scope.postMessage(message, transfer),
      listen: (receive) => scope.addEventListener('message', (event) => receive(event.data)),
    };
  },

  defaultThreads: () => Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1),

  /** SharedArrayBuffer exists only on cross-origin-isolated pages (COOP + COEP headers). */
  canShareMemory: () => globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function',
} satisfies Platform;
