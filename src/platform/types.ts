// The platform seam: what each side (src/platform/node.ts, src/platform/browser.ts, chosen by the
// package's `#platform` import condition) provides to the pool. Both sides `satisfies Platform`.

/** What a pool worker reports to the pool. */
export interface PoolWorkerEvents {
  message(data: unknown): void;
  /** The worker died or its messages can not be read: its calls are lost. */
  crash(reason: string): void;
}

export interface SpawnedWorker {
  post(message: unknown, transfer: ArrayBuffer[]): void;
  terminate(): Promise<void>;
  /** Whether the worker keeps the process alive (Node: ref or unref; browsers: nothing to do). */
  hold(busy: boolean): void;
  /** The platform's worker object (worker_threads Worker or Web Worker), for diagnostics. */
  raw: unknown;
}

/** Inside a pool worker: its channel to the pool. */
export interface WorkerPort {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  listen(receive: (data: unknown) => void): void;
}

export interface Platform {
  /**
   * Starts a pool worker: src/pool/worker.ts, or the script at `url` when given. May throw (a URL the
   * runtime refuses, e.g. cross-origin in a browser); a worker that fails to load reports a crash.
   */
  spawnPoolWorker(events: PoolWorkerEvents, url: string | URL | undefined): SpawnedWorker;
  /** Where the default worker script is, for error messages. */
  defaultWorkerUrl(): string;
  /** The channel of the pool worker this code runs in. */
  poolWorkerPort(): WorkerPort;
  /** Worker threads a pool starts by default: the number of cores. */
  defaultThreads(): number;
  /** Whether SharedArrayBuffer can be shared with workers. */
  canShareMemory(): boolean;
}
