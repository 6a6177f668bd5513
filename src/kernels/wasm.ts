// The kernels module (assembly/kernels.ts: clipping and aggregation of float32 matrices), declared
// here so that importing any of the family's kernels registers it and `ready()` loads it; and its
// build for shared memory, which reads arrays in place where they lie in a shared wasm memory
// (src/wasm/shared-memory.ts; compiled only where the runtime shares memory). Each names its bytes
// by a dynamic import, a chunk of its own in a bundle. The declarations are marked pure, so a
// bundle drops the modules when none of its code uses them.
import { instantiate } from '../wasm/generated/kernels.js';
import { defineModule } from '../wasm/runtime.js';
import { SharedWasmModule } from '../wasm/shared-memory.js';

/** The module's exports: its kernels, memory and heapBase. */
export type KernelsExports = Awaited<ReturnType<typeof instantiate>>;

export const kernelsWasm = /* @__PURE__ */ defineModule('kernels', () => import('../wasm/generated/kernels-wasm.js'), instantiate);

/** The same kernels built for shared memory: run on an array's own memory, in place. */
export const kernelsSharedWasm = /* @__PURE__ */ new SharedWasmModule<KernelsExports>('kernels', () => import('../wasm/generated/kernels-shared-wasm.js'));
