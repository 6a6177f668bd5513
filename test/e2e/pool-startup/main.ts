// Browser fixture for test/e2e/pool-startup.test.ts: pools whose worker can not start (a URL that
// 404s, a cross-origin URL), then a working pool whose call is aborted mid-flight and which keeps
// serving. Leaves a JSON-able report on window.__startup.
import { PrivkitError } from 'privkit';
import { createPool } from 'privkit/pool';

export interface Attempt {
  ms: number;
  code?: string;
  name?: string;
  message?: string;
}

export interface StartupReport {
  missing: Attempt;
  crossOrigin: Attempt;
  aborted: Attempt & { causeIsReason?: boolean };
  afterAbort: number[];
  fatal?: string;
}

declare global {
  interface Window {
    __startup?: StartupReport;
  }
}

/** How long `run` takes to reject, and with what. */
async function attempt(run: () => Promise<unknown>): Promise<Attempt> {
  const started = performance.now();
  try {
    await run();
    return { ms: performance.now() - started };
  } catch (error) {
    const ms = performance.now() - started;
    if (!(error instanceof PrivkitError)) return { ms, name: (error as Error)?.name, message: String(error) };
    return { ms, code: error.code, name: error.name, message: error.message };
  }
}

async function main(): Promise<StartupReport> {
  const missing = await attempt(() => createPool({ threads: 2, workerUrl: '/no-such-worker.js' }));
  const crossOrigin = await attempt(() => createPool({ threads: 1, workerUrl: 'https://example.invalid/worker.js' }));
  const pool = await createPool({ threads: 2 });
  try {
    const controller = new AbortController();
    const reason = new Error('stop');
    const x = new Float32Array(1 << 24); // long enough to be running when aborted
    const call = pool.l2Norms(x, 16, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    let causeIsReason = false;
    const aborted = await attempt(async () => {
      controller.abort(reason);
      try {
        await call;
      } catch (error) {
        causeIsReason = (error as Error).cause === reason;
        throw error;
      }
    });
    const afterAbort = Array.from(await pool.sum(Float32Array.of(1, 2, 3, 4), 2));
    return { missing, crossOrigin, aborted: { ...aborted, causeIsReason }, afterAbort };
  } finally {
    await pool.close();
  }
}

main().then(
  (report) => {
    window.__startup = report;
    document.getElementById('status')!.textContent = 'done';
  },
  (error: unknown) => {
    window.__startup = { fatal: String(error) } as StartupReport;
  },
);
