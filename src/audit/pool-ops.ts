// The trials of a privacy audit as a pooled operation, its plan and merge (the contract is in
// src/pool/types.ts; auditMechanism({ pool }) and Pool.auditSamples run it; the workers' run is in
// ./pool-run.ts): the mechanism runs `trials` times on each of two inputs, the trials split over the
// workers. `inputs` are structured-cloned to every worker.
import { PrivkitError } from '../errors.js';
import type { PoolOperation } from '../pool/types.js';
import { assertInteger, describe } from '../validate.js';
import { checkMechanismModule, concatSamples, MAX_SAMPLE_VALUES, type MechanismModule, type Samples } from './sampling.js';

export interface TrialsTask {
  mechanism: MechanismModule;
  inputs: [unknown, unknown];
  trials: number;
}

export const auditSamples: PoolOperation<[mechanism: MechanismModule, inputs: readonly [unknown, unknown], trials: number], TrialsTask, Samples, Samples> = {
  name: 'auditSamples',
  family: 'audit',
  plan(mechanism, inputs, trials) {
    const spec = checkMechanismModule(mechanism);
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new PrivkitError('E_ARG', `inputs must be an array of two neighbouring inputs, got ${describe(inputs)}`, { argument: 'inputs' });
    }
    const count = assertInteger('trials', trials, 1, MAX_SAMPLE_VALUES);
    const pair: [unknown, unknown] = [inputs[0], inputs[1]];
    return { rows: count, task: (part) => ({ mechanism: spec, inputs: pair, trials: part.rows }) };
  },
  merge: (parts) => concatSamples(parts),
};
