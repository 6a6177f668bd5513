// Factories that rebuild, in a pool worker, a model of another family from its ModelSpec (type
// 'custom' with `rebuild` data), by the spec's name. A family's own worker script registers its
// factory before the worker serves anything (privkit/tfjs/worker registers 'tfjs'), so the pool's
// default worker imports no other family nor its peer dependencies, and a bundle of it resolves none.
import { PrivkitError } from '../errors.js';
import type { Model, ModelSpec } from './model.js';

/** A ModelSpec of another family's model. */
export type CustomSpec = Extract<ModelSpec, { type: 'custom' }>;

const factories = new Map<string, (spec: CustomSpec) => Promise<Model>>();

/** Registers how this thread rebuilds the models of specs named `name`. */
export function registerModelFactory(name: string, factory: (spec: CustomSpec) => Promise<Model>): void {
  factories.set(name, factory);
}

/**
 * The model of `spec`, rebuilt by the factory registered for its name.
 *
 * @throws {PrivkitError} E_ARG when this thread has no factory for it (the pool's workers were not started from a script that registers one).
 */
export async function rebuildModel(spec: CustomSpec): Promise<Model> {
  const factory = factories.get(spec.name);
  if (factory === undefined) {
    throw new PrivkitError('E_ARG', `model (${spec.name}) can not be rebuilt in this pool's workers: create the pool with a workerUrl whose script registers it (for tfjs models: a script importing a tfjs backend and then 'privkit/tfjs/worker')`, { argument: 'model' });
  }
  return factory(spec);
}
