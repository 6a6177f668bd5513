// The operation registry: every pooled operation of every family, by name — the one list the pool's
// worker (src/pool/worker.ts) dispatches through, in the spirit of tfjs-backend-wasm's
// register_all_kernels.ts. A family's pool-ops files export operations and nothing else (types
// aside), each under its own name, so exporting an operation there registers it. The pool itself
// (src/pool/) imports no family; this file, outside it, imports them all.
import * as audit from './audit/pool-ops.js';
import * as dp from './dp/pool-ops.js';
import * as fl from './fl/pool-ops.js';
import * as kernels from './kernels/pool-ops.js';
import * as paillierKeys from './paillier/key-pool-ops.js';
import * as paillier from './paillier/pool-ops.js';

export const operations = { ...kernels, ...dp, ...paillierKeys, ...paillier, ...fl, ...audit };

