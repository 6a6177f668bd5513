// The benchmark worker: runs every family's groups off the page's thread (so rendering does not
// disturb the timings) and posts each family, group and row as it is measured. Per group: prepare
// the inputs, check every row's output once, then time the rows one after another (bench/measure.ts).
import { ready } from 'privkit';
import { createPool, sharedFloat32Array } from 'privkit/pool';
import type { BenchContext, Family } from './bench/family';
import { FAMILIES } from './bench/families';
import { measure, TIMINGS } from './bench/measure';
import { POOL_THREADS, type BenchMessage, type RowResult, type RunRequest } from './bench/protocol';

const post = (message: BenchMessage) => postMessage(message);

/** Whether the pool can share memory with its workers here (a browser allows it on cross-origin-isolated pages only). */
const sharedMemory = typeof SharedArrayBuffer === 'function' && sharedFloat32Array(1).buffer instanceof SharedArrayBuffer;

async function runFamily(family: Family, ctx: BenchContext): Promise<void> {
  post({ type: 'family', family: { id: family.id, title: family.title, intro: family.intro } });
  for (const def of family.groups) {
    const id = `${family.id}/${def.id}`;
    post({ type: 'progress', text: `${def.title}: preparing` });
    const { tasks, timing, explain, ...info } = await def.prepare(ctx);
    post({ type: 'group', group: { family: family.id, id, title: def.title, ...info } });
    const rows: RowResult[] = [];
    for (const task of tasks) {
      post({ type: 'progress', text: `${def.title}: ${task.label}` });
      const result = await task.check();
      const measured = await measure(task.run, { ...TIMINGS[ctx.mode], ...timing });
      const row: RowResult = { group: id, id: task.id, label: task.label, kind: task.kind, code: task.code, result, ...measured };
      rows.push(row);
      post({ type: 'row', row });
    }
    const explanation = explain?.(rows);
    post({ type: 'group-done', group: id, ...(explanation === undefined ? {} : { explanation }) });
  }
}

async function run({ mode, rows, cols, only }: RunRequest): Promise<void> {
  const started = performance.now();
  await ready();
  post({
    type: 'env',
    env: { crossOriginIsolated: self.crossOriginIsolated === true, sharedMemory, hardwareConcurrency: navigator.hardwareConcurrency, poolThreads: POOL_THREADS },
  });
  post({ type: 'progress', text: `starting a pool of ${POOL_THREADS} workers` });
  const pool = await createPool({ threads: POOL_THREADS });
  const made = new Map<string, unknown>();
  const ctx: BenchContext = {
    mode,
    rows,
    cols,
    pool,
    sharedMemory,
    once: <T>(key: string, make: () => T): T => {
      if (!made.has(key)) made.set(key, make());
      return made.get(key) as T;
    },
  };
  try {
    for (const family of FAMILIES) {
      if (only === undefined || only.includes(family.id)) await runFamily(family, ctx);
    }
  } finally {
    await pool.close();
  }
  post({ type: 'done', totalMs: performance.now() - started });
}

let busy = false;
addEventListener('message', (event: MessageEvent<RunRequest>) => {
  if (event.data?.type !== 'run' || busy) return;
  busy = true;
  run(event.data)
    .catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }))
    .finally(() => {
      busy = false;
    });
});
