// Client local training of FedAvg (McMahan et al. 2017, Alg. 1, ClientUpdate): `epochs` passes of
// mini-batch SGD over the client's own samples in a shuffled order, starting from the server's
// parameters; the client sends back the difference new - old. The shuffle comes from a ChaCha20
// generator: keyed by the task's seed (reproducible simulations, and the pool matches this thread
// bit for bit) or, without one, by the CSPRNG. The same function runs on the caller's thread and
// in pool workers (Pool.localUpdates).
import { PrivkitError } from '../errors.js';
import { createRng } from '../dp/rng.js';
import { assertInteger, assertNumber, assertOneOf, describe, readOptions } from '../validate.js';
import { assertBytes } from '../validate-arrays.js';
import type { Model } from './model.js';
import { UniformIntegers } from './sampling.js';

/** Options of a client's local training (FedAvg's ClientUpdate). */
export interface LocalTrainingOptions {
  /** Passes over the client's samples (E in McMahan et al.). */
  epochs: number;
  /** Samples per SGD step (B); the last step of an epoch takes the remainder. */
  batchSize: number;
  /** SGD step size on the mean mini-batch loss. */
  learningRate: number;
  /** 32-byte key of the shuffle generator: reproducible training (simulations, tests). Default: the CSPRNG. */
  seed?: Uint8Array;
  /**
   * What a diverged training (non-finite parameters) returns: 'throw' (default: E_OVERFLOW) or 'zero'
   * (a zero update). FedAvg uses 'zero', so that whether a round completes never depends on one
   * client's data (the zero update is just another bounded contribution).
   */
  divergence?: 'throw' | 'zero';
}

/** One client's job for Pool.localUpdates. */
export interface ClientTask {
  /** The client's samples, rows x model.inputs (row-major). Read in place when on a SharedArrayBuffer. */
  images: Float32Array;
  /** One label per row. */
  labels: Uint8Array;
  /** 32-byte key of this client's shuffle generator; default: the worker's CSPRNG. */
  seed?: Uint8Array;
}

/** Most local epochs of one client update (federated clients train a few; this bounds one call's work). */
const MAX_LOCAL_EPOCHS = 1000;

/** Checks local-training options (`name` prefixes the field names in errors); returns them without a seed. */
export function checkLocalOptions(opts: unknown, name = 'opts'): Omit<LocalTrainingOptions, 'seed'> {
  const o = readOptions(opts as LocalTrainingOptions | undefined, ['epochs', 'batchSize', 'learningRate', 'divergence'], name);
  const divergence = assertOneOf(`${name}.divergence`, o.divergence, ['throw', 'zero'] as const, 'throw');
  return {
    epochs: assertInteger(`${name}.epochs`, o.epochs, 1, MAX_LOCAL_EPOCHS),
    batchSize: assertInteger(`${name}.batchSize`, o.batchSize, 1),
    learningRate: assertNumber(`${name}.learningRate`, o.learningRate, 'positive'),
    divergence,
  };
}

/** Checks a 32-byte seed, when given. */
export function checkSeed(name: string, seed: unknown): void {
  if (seed !== undefined) assertBytes(name, seed, 32);
}

/** Checks the tasks of Pool.localUpdates against the model. */
export function checkClientTasks(model: Model, clients: unknown): asserts clients is readonly ClientTask[] {
  if (!Array.isArray(clients)) throw new PrivkitError('E_ARG', `clients must be an array, got ${describe(clients)}`, { argument: 'clients' });
  // a for loop, not forEach: a hole is a missing task, refused rather than skipped
  for (let k = 0; k < clients.length; k++) {
    const task: unknown = clients[k];
    if (typeof task !== 'object' || task === null) {
      throw new PrivkitError('E_ARG', `clients[${k}] must be an object, got ${describe(task)}`, { argument: 'clients', index: k });
    }
    const { images, labels, seed } = task as ClientTask;
    model.checkData(images, labels, `clients[${k}].`);
    checkSeed(`clients[${k}].seed`, seed);
  }
}

/** Checks that `model` is a Model (from createModel). */
export function checkModel(model: unknown): asserts model is Model {
  const m = model as Partial<Model> | null;
  if (typeof m !== 'object' || m === null || typeof m.accumulate !== 'function' || typeof m.spec !== 'object') {
    throw new PrivkitError('E_ARG', `model must be a Model from createModel(), got ${describe(model)}`, { argument: 'model' });
  }
}

/**
 * Trains a copy of `params` on the client's samples with mini-batch SGD and returns the update
 * (trained - params). Throws E_OVERFLOW if training diverges to non-finite values.
 *
 * @throws {PrivkitError} E_ARG when model is not a Model, the options are not positive (epochs, batchSize integers; learningRate finite), divergence is unknown, or the seed is not 32 bytes.
 * @throws {PrivkitError} E_ARG, E_SHAPE, E_NONFINITE when params or the samples do not fit the model.
 * @throws {PrivkitError} E_OVERFLOW when training diverges and opts.divergence is 'throw' (the default).
 * @throws {PrivkitError} E_NOT_READY before `await ready()` (the shuffle generator runs in wasm).
 */
export function localUpdate(model: Model, params: Float32Array, images: Float32Array, labels: Uint8Array, opts: LocalTrainingOptions): Float32Array {
  checkModel(model);
  model.checkParams(params);
  const n = model.checkData(images, labels);
  const { epochs, batchSize, learningRate, divergence } = checkLocalOptions(opts);
  const { seed } = readOptions(opts, ['seed']);
  checkSeed('opts.seed', seed);
  const integers = new UniformIntegers(createRng(seed === undefined ? {} : { seed }));
  const weights = params.slice();
  const gradient = new Float64Array(model.paramCount);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let epoch = 0; epoch < epochs; epoch++) {
    integers.shuffle(order);
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      gradient.fill(0);
      model.accumulate(weights, images, labels, order, start, end, gradient);
      const step = learningRate / (end - start);
      for (let j = 0; j < weights.length; j++) weights[j] -= step * gradient[j]!;
    }
  }
  for (let j = 0; j < weights.length; j++) {
    weights[j] -= params[j]!;
    if (!Number.isFinite(weights[j]!)) {
      if (divergence === 'zero') return weights.fill(0);
      throw new PrivkitError('E_OVERFLOW', `local training diverged to non-finite parameters (learningRate ${learningRate} too large?)`, {
        argument: 'opts.learningRate',
      });
    }
  }
  return weights;
}
