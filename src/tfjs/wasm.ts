// The tfjs module (assembly/tfjs.ts: the float64 outer-product sum of a dense layer's clipped
// gradient), declared here so that importing privkit/tfjs registers it and `ready()` loads it. The
// declaration is marked pure, so a bundle that never forms a clipped sum drops the module.
import { instantiate } from '../wasm/generated/tfjs.js';
import { defineModule } from '../wasm/runtime.js';

/** The module's exports: weightedOuterSum, memory and heapBase. */
export type TfjsExports = Awaited<ReturnType<typeof instantiate>>;

export const tfjsWasm = /* @__PURE__ */ defineModule('tfjs', () => import('../wasm/generated/tfjs-wasm.js'), instantiate);
