// The prio family's wasm module (assembly/prio.ts: Field64 / Field128 Montgomery arithmetic, NTT,
// the ParallelSum(Mul) gadget polynomial, TurboSHAKE128 and XofTurboShake128 expansion), declared
// here so that importing privkit/prio registers it and `ready()` loads it. Marked pure, so a bundle
// drops the module when none of its code uses it.
import { instantiate } from '../wasm/generated/prio.js';
import { defineModule } from '../wasm/runtime.js';

/** The module's exports: its kernels, memory and heapBase. */
export type PrioExports = Awaited<ReturnType<typeof instantiate>>;

export const prioWasm = /* @__PURE__ */ defineModule('prio', () => import('../wasm/generated/prio-wasm.js'), instantiate);
