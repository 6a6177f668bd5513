// The kernels module (assembly/kernels.ts: clipping and aggregation of float32 matrices), declared
// here so that importing any of the family's kernels registers it and `ready()` loads it. The
// declaration is marked pure, so a bundle drops the module when none of its code uses it.
import { instantiate } from '../wasm/generated/kernels.js';
import { WASM_BASE64 } from '../wasm/generated/kernels-wasm.js';
import { defineModule } from '../wasm/runtime.js';

/** The module's exports: its kernels, memory and heapBase. */
export type KernelsExports = Awaited<ReturnType<typeof instantiate>>;

export const kernelsWasm = /* @__PURE__ */ defineModule('kernels', WASM_BASE64, instantiate);
