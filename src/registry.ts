// The operation registry: every pooled operation of every family, by name, with the family whose
// files define it — the one list through which the Pool facade (src/pool-api.ts) finds operations,
// in the spirit of tfjs-backend-wasm's register_all_kernels.ts (the pool's worker, src/pool/worker.ts,
// finds a run by the family and name its request carries, so it needs no copy of the list). An operation is two halves (src/pool/types.ts): its plan and merge, for
// the caller's thread, exported from the family's pool-ops file, and its run, for the workers,
// exported under the same name from the family's pool-run file. Each file is imported on the first
// use of one of its operations (a dynamic import each), so a page loads only the plans of the
// families it calls and a worker only the runs of those it runs, with their wasm modules; a bundler
// leaves the run files out of the page's chunks and the pool-ops files out of the worker's. These
// files export operations and nothing else (types aside), each under its own name. The pool itself
// (src/pool/) imports no family; this file, outside it, knows them all.

/** The families' pool-ops files (plans and merges, for the caller's thread), imported on first use. */
const operations = {
  kernels: () => import('./kernels/pool-ops.js'),
  dp: () => import('./dp/pool-ops.js'),
  paillierKeys: () => import('./paillier/key-pool-ops.js'),
  paillier: () => import('./paillier/pool-ops.js'),
  fl: () => import('./fl/pool-ops.js'),
  audit: () => import('./audit/pool-ops.js'),
  prio: () => import('./prio/pool-ops.js'),
};

type Family = keyof typeof operations;

/** The families' pool-run files (the parts' runs, for the workers), imported on first use. */
const runs = {
  kernels: () => import('./kernels/pool-run.js'),
  dp: () => import('./dp/pool-run.js'),
  paillierKeys: () => import('./paillier/key-pool-run.js'),
  paillier: () => import('./paillier/pool-run.js'),
  fl: () => import('./fl/pool-run.js'),
  audit: () => import('./audit/pool-run.js'),
  prio: () => import('./prio/pool-run.js'),
} satisfies Record<Family, unknown>;

/**
 * Every registered operation: its name and the family whose files export its halves under that name
 * (each operation object names its family too: test/pool/conformance.test.ts checks they agree).
 */
export const REGISTRY = {
  l2Norms: 'kernels',
  clipByL2: 'kernels',
  clipPerLayer: 'kernels',
  clipAndSum: 'kernels',
  clipValues: 'kernels',
  sum: 'kernels',
  mean: 'kernels',
  weightedMean: 'kernels',
  gaussianNoise: 'dp',
  laplaceNoise: 'dp',
  addGaussianNoise: 'dp',
  addLaplaceNoise: 'dp',
  paillierPrimes: 'paillierKeys',
  paillierRandomness: 'paillierKeys',
  encryptVector: 'paillier',
  decryptVector: 'paillier',
  localUpdates: 'fl',
  auditSamples: 'audit',
  prio3Shard: 'prio',
  prio3Step: 'prio',
} as const satisfies Record<string, Family>;

export type OperationName = keyof typeof REGISTRY;

type Exported<Files extends Record<Family, () => Promise<unknown>>, N extends OperationName> = Awaited<ReturnType<Files[(typeof REGISTRY)[N]]>>;

/** The operation registered as N (test/pool/conformance.test.ts checks that its family's pool-ops file exports it under that name). */
export type RegisteredOperation<N extends OperationName> = N extends keyof Exported<typeof operations, N> ? Exported<typeof operations, N>[N] : never;

/** The run of the operation registered as N (its family's pool-run file exports it under that name). */
export type RegisteredRun<N extends OperationName> = N extends keyof Exported<typeof runs, N> ? Exported<typeof runs, N>[N] : never;

/**
 * Each file once imported: a dynamic import of a module already loaded still resolves its specifier
 * through the module loader (tens of microseconds in Node), on every call.
 */
const imported = new Map<() => Promise<object>, Promise<Record<string, unknown>>>();

/** The exports of the file `load` imports, imported on first use. */
function exportsOf(load: () => Promise<object>): Promise<Record<string, unknown>> {
  let file = imported.get(load);
  if (file === undefined) {
    file = load() as Promise<Record<string, unknown>>;
    imported.set(load, file);
    file.catch(() => imported.delete(load)); // a failed import is tried again by the next call
  }
  return file;
}

/** The operation registered as `name` (its plan and merge), its family's pool-ops file imported on first use. */
export async function operation<N extends OperationName>(name: N): Promise<RegisteredOperation<N>> {
  return (await exportsOf(operations[REGISTRY[name]]))[name] as RegisteredOperation<N>;
}

/**
 * The run a worker's request names: export `name` of the pool-run file of `family` (an operation's
 * family and name, see PoolOperation), the file imported on first use; undefined when no family of
 * that name exports a run of that name. A worker needs no table of the operations: each request
 * names its family.
 */
export async function partRun(family: unknown, name: unknown): Promise<unknown> {
  if (typeof family !== 'string' || !Object.hasOwn(runs, family) || typeof name !== 'string') return undefined;
  const file = await exportsOf(runs[family as Family]);
  return Object.hasOwn(file, name) ? file[name] : undefined;
}

/** The task a registered operation's plan hands each part, and the result of a part its merge takes. */
type PlannedTask<N extends OperationName> = ReturnType<ReturnType<RegisteredOperation<N>['plan']>['task']>;
type MergedPart<N extends OperationName> = Parameters<RegisteredOperation<N>['merge']>[0][number];

/** The names whose run does not take the task of their plan or does not give the part result of their merge. */
type MismatchedHalves = {
  [N in OperationName]: [PlannedTask<N>] extends [Parameters<RegisteredRun<N>>[0]] ? ([Awaited<ReturnType<RegisteredRun<N>>>] extends [MergedPart<N>] ? never : N) : N;
}[OperationName];

/** Compiles only when every operation's halves fit: a mismatched name fails its `never` constraint here. */
export type HalvesFit<Names extends never = MismatchedHalves> = Names;
