// privkit/tfjs/worker: the pool's worker (src/pool/worker.ts) that also rebuilds tfjs models, so that
// FedAvg and Pool.localUpdates train flModel clients in a pool. It imports no tfjs backend: a worker
// script imports the one the caller trains on, then this module, e.g.
//   import '@tensorflow/tfjs-backend-cpu';
//   import 'privkit/tfjs/worker';
// and the pool is created with that script: createPool({ workerUrl }). The factory is registered
// before the pool's worker starts serving (it is imported after the registration).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { PrivkitError } from '../errors.js';
import { registerModelFactory } from '../fl/model-factories.js';
import { flModel, type TfjsRebuild } from './fl-model.js';

registerModelFactory('tfjs', async (spec) => {
  const { topology, inputShape, backend } = spec.rebuild as TfjsRebuild;
  if (tf.findBackendFactory(backend) === null || !(await tf.setBackend(backend))) {
    throw new PrivkitError('E_ARG', `model: the pool worker has no tfjs backend '${backend}': import it in the worker script before 'privkit/tfjs/worker'`, { argument: 'model' });
  }
  const model = await tfl.models.modelFromJSON(topology as Parameters<typeof tfl.models.modelFromJSON>[0]);
  return flModel(model, { inputs: spec.inputs, classes: spec.classes, inputShape });
});

await import('../pool/worker.js');
