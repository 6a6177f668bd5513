// The operation registry: every pooled operation of every family, by name, with the family's
// pool-ops file that defines it — the one list through which the pool's worker (src/pool/worker.ts)
// and the Pool facade (src/pool-api.ts) find operations, in the spirit of tfjs-backend-wasm's
// register_all_kernels.ts. A family's pool-ops file is imported on the first use of one of its
// operations (a dynamic import each), so a bundle's main thread and workers load only the families
// whose operations they run, with their wasm modules. A family's pool-ops files export operations
// and nothing else (types aside), each under its own name. The pool itself (src/pool/) imports no
// family; this file, outside it, knows them all.

/** The families' pool-ops files, imported on first use. */
const families = {
  kernels: () => import('./kernels/pool-ops.js'),
  dp: () => import('./dp/pool-ops.js'),
  paillierKeys: () => import('./paillier/key-pool-ops.js'),
  paillier: () => import('./paillier/pool-ops.js'),
  fl: () => import('./fl/pool-ops.js'),
  audit: () => import('./audit/pool-ops.js'),
  prio: () => import('./prio/pool-ops.js'),
};

type Family = keyof typeof families;

/** Every registered operation: its name and the family whose pool-ops file exports it under that name. */
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

type FamilyModule<N extends OperationName> = Awaited<ReturnType<(typeof families)[(typeof REGISTRY)[N]]>>;

/** The operation registered as N (test/pool/conformance.test.ts checks that its family's file exports it under that name). */
export type RegisteredOperation<N extends OperationName> = N extends keyof FamilyModule<N> ? FamilyModule<N>[N] : never;

/** True for the name of a registered operation. */
export function isOperationName(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.hasOwn(REGISTRY, name);
}

/** The operation registered as `name`, its family's pool-ops file imported on first use. */
export async function operation<N extends OperationName>(name: N): Promise<RegisteredOperation<N>> {
  const family: Record<string, unknown> = await families[REGISTRY[name]]();
  return family[name] as RegisteredOperation<N>;
}
