// FedAvg client training as a pooled operation, its plan and merge (the contract is in
// src/pool/types.ts; Pool.localUpdates and FedAvg({ pool }) run it; the workers' run is in
// ./pool-run.ts): the client tasks split into one contiguous part per worker, the updates written
// as one matrix, tasks x model.paramCount. The plan checks as localUpdate does and refuses
// `opts.seed` (each task carries its own). Client samples on a SharedArrayBuffer are read in place;
// others are copied once and moved to their worker.
import { PrivkitError } from '../errors.js';
import { refuseInPool } from '../pool/guards.js';
import type { PoolOperation } from '../pool/types.js';
import { isSharedArray } from '../wasm/boundary.js';
import { checkClientTasks, checkLocalOptions, checkModel, type ClientTask, type LocalTrainingOptions } from './local.js';
import type { Model, ModelSpec } from './model.js';

export type LocalOptions = Omit<LocalTrainingOptions, 'seed'>;

export interface LocalTask {
  spec: ModelSpec;
  params: Float32Array;
  clients: ClientTask[];
  opts: LocalOptions;
}

export const localUpdates: PoolOperation<[model: Model, params: Float32Array, clients: readonly ClientTask[], opts: LocalOptions], LocalTask, void, Float32Array> = {
  name: 'localUpdates',
  family: 'fl',
  plan(model: Model, params: Float32Array, clients: readonly ClientTask[], opts: LocalOptions) {
    checkModel(model);
    const spec = model.spec;
    if (spec.type === 'custom' && spec.rebuild === undefined) {
      throw new PrivkitError('E_ARG', `model (${spec.name}) can not be rebuilt in pool workers: train it without a pool`, { argument: 'model' });
    }
    model.checkParams(params);
    checkClientTasks(model, clients);
    const local = checkLocalOptions(opts);
    refuseInPool('opts.seed', (opts as LocalTrainingOptions).seed, 'give each client task its own seed');
    // a compact copy, so that one array (not the buffer under it) is cloned to each worker
    const weights = isSharedArray(params) ? params : params.slice();
    return {
      rows: clients.length,
      output: { dtype: 'float32', cols: model.paramCount },
      task: (part, transfer) => ({
        spec,
        params: weights,
        clients: clients.slice(part.row, part.row + part.rows).map((task) => ({
          images: movable(task.images, transfer),
          labels: movable(task.labels, transfer),
          ...(task.seed === undefined ? {} : { seed: task.seed.slice() }),
        })),
        opts: local,
      }),
    };
  },
  merge: (_, __, output) => output as Float32Array,
};

/** `view` itself when on shared memory (the worker reads it in place), else a compact copy whose buffer joins `transfer`. */
function movable<T extends Float32Array | Uint8Array>(view: T, transfer: ArrayBuffer[]): T {
  if (isSharedArray(view)) return view;
  const copy = view.slice() as T;
  transfer.push(copy.buffer as ArrayBuffer);
  return copy;
}
