// The wasm modules of the dp family, declared here so that importing a kernel that uses one
// registers it and `ready()` loads it: the rng module (assembly/rng.ts: the ChaCha20 generator's
// own outputs) and the dp module (assembly/dp.ts: the samplers and the secure-aggregation kernels,
// everything that draws from a generator in batches). Each declaration is marked pure, so a bundle
// drops a module none of its code uses.
import { instantiate as instantiateDp } from '../wasm/generated/dp.js';
import { instantiate as instantiateRng } from '../wasm/generated/rng.js';
import { defineModule } from '../wasm/runtime.js';

/** The rng module's exports: chachaBytes, uniformDoubles, generatorBytes, memory and heapBase. */
export type RngExports = Awaited<ReturnType<typeof instantiateRng>>;
/** The dp module's exports: its kernels, wipeScratch, memory and heapBase. */
export type DpExports = Awaited<ReturnType<typeof instantiateDp>>;

export const rngWasm = /* @__PURE__ */ defineModule('rng', () => import('../wasm/generated/rng-wasm.js'), instantiateRng);
export const dpWasm = /* @__PURE__ */ defineModule('dp', () => import('../wasm/generated/dp-wasm.js'), instantiateDp);
