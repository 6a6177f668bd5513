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
  /** The platform's worker object (worker_threads Worker or Web Worker), for diagnostics. */
  raw: unknown;
}

/** Inside a pool worker: its channel to the pool. */
export interface WorkerPort {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  listen(receive: (data: unknown) => void): void;
}

export interface Platform {
  /** Starts a pool worker (src/pool/worker.ts). */
  spawnPoolWorker(events: PoolWorkerEvents): SpawnedWorker;
  /** The channel of the pool worker this code runs in. */
  poolWorkerPort(): WorkerPort;
  /** Worker threads a pool starts by default: the number of cores. */
  defaultThreads(): number;
  /** Whether SharedArrayBuffer can be shared with workers. */
  canShareMemory(): boolean;
}
