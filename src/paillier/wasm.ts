// The paillier module (assembly/paillier.ts: Montgomery modular exponentiation), declared here so
// that importing any of the family's kernels registers it and `ready()` loads it. The declaration is
// marked pure, so a bundle drops the module when none of its code uses it.
import { instantiate } from '../wasm/generated/paillier.js';
import { defineModule } from '../wasm/runtime.js';

/** The module's exports: its kernels, memory and heapBase. */
export type PaillierExports = Awaited<ReturnType<typeof instantiate>>;

export const paillierWasm = /* @__PURE__ */ defineModule('paillier', () => import('../wasm/generated/paillier-wasm.js'), instantiate);
