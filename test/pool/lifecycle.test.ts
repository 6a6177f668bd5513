// The pool's lifecycle in Node (issue 13): a worker that can not start makes createPool reject fast
// with E_WORKER and is not respawned; repeated crashes break the pool instead of looping;
// createPool({ workerUrl }); a forgotten pool does not keep the process alive; `await using`;
// cancellation (E_ABORTED) and progress, with the pool serving after an abort and no leak.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { l2Norms, PrivkitError, ready } from 'privkit';
import { generateKeyPair, type KeyPair } from 'privkit/paillier';
import { createPool, sharedFloat32Array, type Pool } from 'privkit/pool';

const run = promisify(execFile);
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const builtWorker = new URL('../../dist/src/pool/worker.js', import.meta.url);

/** The internals a test looks at: the worker slots and their raw workers. */
interface Internals {
  slots: { pending: Map<number, unknown>; spawned?: { raw: { terminate(): Promise<number> } } }[];
}
const internals = (pool: Pool): Internals => pool as unknown as Internals;

/** How long `promise` takes to reject, and its error. */
async function rejection(promise: Promise<unknown>): Promise<{ ms: number; error: PrivkitError }> {
  const started = performance.now();
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PrivkitError);
  return { ms: performance.now() - started, error: error as PrivkitError };
}

beforeAll(async () => {
  await ready(); // for the sync twins
});

describe('a worker that can not start', () => {
  it('makes createPool reject at once with E_WORKER naming the URL and the cause (missing file)', async () => {
    const missing = new URL('./fixtures/no-such-worker.js', import.meta.url);
    const { ms, error } = await rejection(createPool({ threads: 2, workerUrl: missing }));
    expect(error.code).toBe('E_WORKER');
    expect(error.message).toContain(missing.href);
    expect(error.message).toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND/);
    expect(ms).toBeLessThan(10_000);
  });

  it('is not respawned: a script that throws at import starts once per thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privkit-spawns-'));
    const log = join(dir, 'spawns.log');
    process.env.PRIVKIT_SPAWN_LOG = log;
    try {
      const { ms, error } = await rejection(createPool({ threads: 3, workerUrl: fixture('throws-at-import.mjs') }));
      expect(error.code).toBe('E_WORKER');
      expect(error.message).toContain('throws-at-import.mjs');
      expect(error.message).toContain('this worker script fails at import');
      expect(ms).toBeLessThan(10_000);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // time for a respawn storm to show
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean).length).toBeLessThanOrEqual(3);
    } finally {
      delete process.env.PRIVKIT_SPAWN_LOG;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unusable URL rejects with E_WORKER (not a raw error)', async () => {
    const { error } = await rejection(createPool({ threads: 1, workerUrl: 'https://example.invalid/worker.js' }));
    expect(error.code).toBe('E_WORKER');
    expect(error.message).toContain('https://example.invalid/worker.js');
  });
});

describe('createPool({ workerUrl })', () => {
  for (const [label, url] of [
    ['a URL', builtWorker],
    ['a file: URL string', builtWorker.href],
    ['a path', fileURLToPath(builtWorker)],
  ] as const) {
    it(`runs privkit's worker given as ${label}`, async () => {
      const pool = await createPool({ threads: 2, workerUrl: url });
      try {
        const x = Float32Array.from({ length: 12 }, (_, i) => i - 5);
        expect(await pool.l2Norms(x, 3)).toEqual(l2Norms(x, 3));
      } finally {
        await pool.close();
      }
    });
  }

  it('refuses what is not a URL or a non-empty string (E_ARG)', async () => {
    for (const bad of [42, '', {}, null, ['worker.js']]) {
      await expect(createPool({ threads: 1, workerUrl: bad as never })).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.workerUrl' });
    }
  });
});

describe('crashes', () => {
  it('respawn with back-off, and a worker crashing 3 times within a minute breaks the pool', async () => {
    const pool = await createPool({ threads: 2 });
    const x = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i));
    try {
      for (let crash = 1; crash <= 3; crash++) {
        const slot = internals(pool).slots[1]!;
        const call = pool.l2Norms(x, 4);
        void slot.spawned!.raw.terminate();
        const { error } = await rejection(call);
        expect(error.code).toBe('E_WORKER');
        if (crash < 3) {
          expect(error.message).toContain('crashed');
          expect(await pool.l2Norms(x, 4)).toEqual(l2Norms(x, 4)); // served by the respawned worker
        } else {
          expect(error.message).toContain('crashed 3 times');
        }
      }
      const later = await rejection(pool.l2Norms(x, 4));
      expect(later.error.code).toBe('E_WORKER');
      expect(later.error.message).toContain('the pool is broken');
      expect(internals(pool).slots.every((slot) => slot.pending.size === 0)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

describe('Node lifetime', () => {
  it('a program that never closes its pool exits on its own', async () => {
    const started = performance.now();
    const { stdout } = await run(process.execPath, [fixture('forgotten-pool.mjs')], { timeout: 20_000 });
    const ms = performance.now() - started;
    const sums = JSON.parse(stdout) as number[];
    expect(sums).toEqual(Array.from({ length: 8 }, (_, j) => 8 * j + 8 * 7 * 4));
    expect(ms).toBeLessThan(5000);
  });

  it('`await using` closes the pool at the end of the scope', async () => {
    let kept: Pool;
    {
      await using pool = await createPool({ threads: 1 });
      kept = pool;
      expect(await pool.sum(Float32Array.of(1, 2, 3, 4), 2)).toEqual(Float32Array.of(4, 6));
    }
    await expect(kept.sum(Float32Array.of(1, 2), 1)).rejects.toMatchObject({ code: 'E_WORKER' });
  });
});

describe('cancellation and progress', () => {
  let pool: Pool;
  let keys: KeyPair;
  beforeAll(async () => {
    pool = await createPool({ threads: 2 });
    keys = await generateKeyPair({ bits: 2048, pool });
  });
  afterAll(async () => {
    await pool.close();
  });

  const packing = { scale: 2 ** 16, clip: 4, maxAdditions: 16 };
  const vector = (length: number): Float32Array => Float32Array.from({ length }, (_, i) => Math.sin(i));

  it('aborting a 100k-element vector encryption rejects within 200 ms with E_ABORTED; the next call succeeds', async () => {
    const controller = new AbortController();
    const reason = new Error('the user pressed stop');
    const progress: number[] = [];
    let reported!: () => void;
    const firstProgress = new Promise<void>((resolve) => (reported = resolve));
    const call = pool.encryptVector(keys.publicKey, vector(100_000), {
      ...packing,
      signal: controller.signal,
      onProgress: (done) => {
        progress.push(done);
        reported();
      },
    });
    await Promise.race([firstProgress, call.catch(() => {})]); // the workers' first progress report (after 20 ms of work), not a fixed wait
    expect(progress.length).toBeGreaterThan(0); // it is running
    const started = performance.now();
    controller.abort(reason);
    const { ms, error } = await rejection(call);
    expect(error.code).toBe('E_ABORTED');
    expect(error.name).toBe('PrivkitError');
    expect(error.cause).toBe(reason);
    expect(ms).toBeLessThan(200);
    expect(performance.now() - started).toBeLessThan(200);
    const small = vector(100);
    const decrypted = await pool.decryptVector(keys.privateKey, await pool.encryptVector(keys.publicKey, small, packing));
    decrypted.forEach((value, i) => expect(Math.abs(value - small[i]!)).toBeLessThanOrEqual(2 ** -16));
  });

  it('reports progress up to the total (ciphertexts) and resolves as without it', async () => {
    const x = vector(3000);
    const seen: Array<[number, number]> = [];
    const v = await pool.encryptVector(keys.publicKey, x, { ...packing, onProgress: (done, total) => seen.push([done, total]) });
    const total = v.ciphertexts.length;
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every(([, t]) => t === total)).toBe(true);
    expect(seen.map(([done]) => done)).toEqual([...seen.map(([done]) => done)].sort((a, b) => a - b));
    expect(new Set(seen.map(([done]) => done)).size).toBe(seen.length);
    expect(seen.at(-1)![0]).toBe(total);
    const decrypting: number[] = [];
    const back = await pool.decryptVector(keys.privateKey, v, { onProgress: (done) => decrypting.push(done) });
    expect(decrypting.at(-1)).toBe(total);
    expect(Math.abs(back[123]! - x[123]!)).toBeLessThanOrEqual(2 ** -16);
  });

  it('a signal aborted before the call rejects without running it; a throwing onProgress rejects with its error', async () => {
    const x = vector(4000);
    const reason = new Error('already');
    const { error } = await rejection(pool.l2Norms(x, 4, { signal: AbortSignal.abort(reason) }));
    expect(error.code).toBe('E_ABORTED');
    expect(error.cause).toBe(reason);
    const thrown = new Error('from onProgress');
    await expect(
      pool.l2Norms(x, 4, {
        onProgress: () => {
          throw thrown;
        },
      }),
    ).rejects.toBe(thrown);
    expect(await pool.l2Norms(x, 4)).toEqual(l2Norms(x, 4));
  });

  it('generateKeyPair: a pool search aborts at once; a search on this thread between its primes', async () => {
    const controller = new AbortController();
    const search = generateKeyPair({ bits: 4096, pool, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const { error } = await rejection(search);
    expect(error.code).toBe('E_ABORTED');
    expect(performance.now() - started).toBeLessThan(1000);
    const stop = new AbortController();
    const primes: number[] = [];
    const onThread = generateKeyPair({
      bits: 512,
      allowInsecureTestKeys: true,
      signal: stop.signal,
      onProgress: (done, total) => {
        primes.push(done);
        expect(total).toBe(2);
        stop.abort();
      },
    });
    expect((await rejection(onThread)).error.code).toBe('E_ABORTED');
    expect(primes).toEqual([1]);
    const pair = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, pool });
    expect(pair.privateKey.decrypt(pair.publicKey.encrypt(7n))).toBe(7n);
  });

  it('checks signal and onProgress (E_ARG)', async () => {
    const x = vector(8);
    await expect(pool.sum(x, 2, { signal: { aborted: false } as never })).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.signal' });
    await expect(pool.clipByL2(x, 2, 1, { onProgress: 3 as never })).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.onProgress' });
  });

  it('an aborted call that writes a shared out rejects only once no worker can write it (no late writes)', async () => {
    // a busy worker keeps serving other calls, so it finishes the aborted part instead of being ended
    const pool = await createPool({ threads: 2 });
    try {
      await pool.clipByL2(new Float32Array(4), 2, 1);
      const big = sharedFloat32Array(4 * 2 ** 20).fill(1);
      for (let trial = 0; trial < 4; trial++) {
        const busy = Promise.all(Array.from({ length: 6 }, () => pool.l2Norms(big, 1))); // one row: worker 0
        const out = sharedFloat32Array(2 * 4096);
        const controller = new AbortController();
        const aborted = pool.clipByL2(new Float32Array(2 * 4096).fill(3), 2, 1, { out, signal: controller.signal });
        setTimeout(() => controller.abort(), trial);
        const outcome = await aborted.then(() => 'resolved', (error: PrivkitError) => error.code);
        expect(['resolved', 'E_ABORTED']).toContain(outcome);
        out.fill(0); // the caller owns `out` again
        await busy;
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(out.filter((v) => v !== 0).length).toBe(0);
      }
    } finally {
      await pool.close();
    }
  });

  it('workers keep the memory of a shared input between calls and drop it once the array is garbage', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', fixture('memory-churn.mjs')], { timeout: 50_000 });
    const report = JSON.parse(stdout) as { heldBeforeCollection: number; heldAfter: number; right: boolean; nextCall: boolean };
    expect(report.right).toBe(true);
    expect(report.nextCall).toBe(true);
    expect(report.heldBeforeCollection).toBeGreaterThan(0); // each worker holds the memories it was sent
    expect(report.heldAfter).toBe(0); // ... until their arrays are collected here: then the workers were told to drop them
  });

  it('200 aborted calls leak neither memory nor workers, and the pool keeps serving', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', fixture('abort-churn.mjs')], { timeout: 50_000 });
    const report = JSON.parse(stdout) as {
      before: { heapUsed: number; rss: number; arrayBuffers: number };
      after: { heapUsed: number; rss: number; arrayBuffers: number };
      codes: Record<string, number>;
      slots: number;
      pending: number;
      nextCall: boolean;
    };
    expect(report.codes.E_ABORTED).toBeGreaterThanOrEqual(100);
    expect(Object.keys(report.codes).every((code) => code === 'E_ABORTED' || code === 'resolved')).toBe(true);
    expect(report.slots).toBe(2);
    expect(report.pending).toBe(0);
    expect(report.nextCall).toBe(true);
    expect(report.after.heapUsed - report.before.heapUsed).toBeLessThan(8 * 2 ** 20);
    expect(report.after.arrayBuffers - report.before.arrayBuffers).toBeLessThan(64 * 2 ** 20);
    // a leaked worker thread or 16 MiB staging buffer per call would add gigabytes
    expect(report.after.rss - report.before.rss).toBeLessThan(256 * 2 ** 20);
  });
});
