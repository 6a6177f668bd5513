// The protect module (assembly/protect.ts: the batched HMAC-SHA-256 of keyed pseudonyms), declared
// here so that importing the pseudonymizer registers it and `ready()` loads it. The declaration is
// marked pure, so a bundle that never pseudonymizes drops the module.
import { instantiate } from '../wasm/generated/protect.js';
import { defineModule } from '../wasm/runtime.js';

/** The module's exports: sha256, the HMAC kernels, hmacWorkBytes, memory and heapBase. */
export type ProtectExports = Awaited<ReturnType<typeof instantiate>>;

export const protectWasm = /* @__PURE__ */ defineModule('protect', () => import('../wasm/generated/protect-wasm.js'), instantiate);
