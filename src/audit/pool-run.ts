// The trials of a privacy audit, their run in the workers (the contract is in src/pool/types.ts;
// the plan and merge are in ./pool-ops.ts). Each worker imports `mechanism.module` itself (a closure
// can not cross threads), so a mechanism should draw from the worker's CSPRNG, not a seed fixed in
// its module.
import type { PartRun } from '../pool/types.js';
import type { TrialsTask } from './pool-ops.js';
import { collectSamples, loadMechanism, type Samples } from './sampling.js';

export const auditSamples: PartRun<TrialsTask, Samples> = async ({ mechanism, inputs, trials }) => collectSamples(await loadMechanism(mechanism), inputs, trials);
