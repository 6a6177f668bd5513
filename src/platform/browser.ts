// Browser side of the platform seam (the default `#platform` condition): pool workers are module
// Web Workers running src/pool/worker.ts. The `new Worker(new URL(...), { type: 'module' })` form
// is what bundlers such as Vite and webpack recognize, so the worker script is emitted without
// configuration; `createPool({ workerUrl })` names the script for bundlers that do not. A worker
// that fails to load (404, wrong MIME type, a script error) fires `error` with no message.
import type { Platform } from './types.js';

/** The global scope of a worker, as this module uses it. */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

export const platform = {
  spawnPoolWorker(events, url) {
    const worker = url === undefined ? new Worker(new URL('../pool/worker.js', import.meta.url), { type: 'module' }) : new Worker(url, { type: 'module' });
    worker.addEventListener('message', (event) => events.message(event.data));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      events.crash(event.message ? `worker error: ${event.message}` : 'the worker script failed to load (network error, 404, not JavaScript, or an error at import)');
    });
    worker.addEventListener('messageerror', () => events.crash('worker message could not be deserialized'));
    return {
      raw: worker,
      post: (message, transfer) => worker.postMessage(message, transfer),
      hold() {},
      terminate: async () => worker.terminate(),
    };
  },

  defaultWorkerUrl: () => `pool/worker.js next to ${import.meta.url}`,

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
