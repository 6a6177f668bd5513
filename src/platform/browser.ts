// Browser side of the platform seam (the default `#platform` condition): kernel workers are
// module Web Workers. The `new Worker(new URL(...), { type: 'module' })` form is what bundlers
// such as Vite and webpack recognize, so the worker script is emitted without configuration.
import type { Endpoint } from 'comlink';
import type { SpawnedWorker } from './types.js';

export function spawnKernelWorker(onCrash: (reason: string) => void): SpawnedWorker {
  const worker = new Worker(new URL('../../workers/kernel-worker.js', import.meta.url), { type: 'module' });
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    onCrash(`worker error: ${event.message || 'failed to load or crashed'}`);
  });
  worker.addEventListener('messageerror', () => onCrash('worker message could not be deserialized'));
  return {
    raw: worker,
    endpoint: worker,
    terminate: async () => worker.terminate(),
  };
}

export function workerEndpoint(): Endpoint {
  return self as unknown as Endpoint;
}

export function defaultThreads(): number {
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
}

/** SharedArrayBuffer exists only on cross-origin-isolated pages (COOP + COEP headers). */
export function canShareMemory(): boolean {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}
