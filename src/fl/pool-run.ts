// FedAvg client training's pooled operation, its run in the workers (the contract is in
// src/pool/types.ts; the plan and merge are in ./pool-ops.ts): each client task of the part trained
// with localUpdate (./local.ts), its update written as the task's row of the output. A model of
// another family is rebuilt by the factory the worker registered for it (./model-factories.ts).
// Each worker keeps the model of its last part (its scratch buffers are reused).
import type { PartRun } from '../pool/types.js';
import { localUpdate } from './local.js';
import { rebuildModel } from './model-factories.js';
import { createModel, type Model } from './model.js';
import type { LocalTask } from './pool-ops.js';

/** The model of this worker's last part, and its spec as JSON. */
let workerModel: { model: Model; spec: string } | undefined;

export const localUpdates: PartRun<LocalTask, void> = async ({ spec, params, clients, opts }, { output }, progress) => {
  const key = JSON.stringify(spec);
  if (workerModel?.spec !== key) workerModel = { model: spec.type === 'custom' ? await rebuildModel(spec) : createModel(spec), spec: key };
  const { model } = workerModel;
  const d = model.paramCount;
  clients.forEach((task, k) => {
    progress(k);
    output!.set(localUpdate(model, params, task.images, task.labels, { ...opts, seed: task.seed }), k * d);
  });
};
