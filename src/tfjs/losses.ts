// Per-example losses: DP-SGD clips each example's gradient, so the loss is kept per example (a
// [batch] tensor) and summed, never averaged over the batch. The named losses follow tfjs-layers'
// definitions (probabilities as outputs, clipped away from 0 and 1 by 1e-7 as Keras does).
import * as tf from '@tensorflow/tfjs-core';
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';

/** The per-example loss of a batch: yTrue and yPred have the batch on axis 0; returns [batch]. */
export type PerExampleLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/** The loss names privkit/tfjs knows, as tfjs-layers' `model.compile({ loss })` spells them. */
export type LossName = 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy' | 'binaryCrossentropy' | 'meanSquaredError';

const EPSILON = 1e-7;

/** Averages over every axis after the batch axis but none before, leaving [batch]. */
function perExample(x: tf.Tensor): tf.Tensor1D {
  return x.rank === 1 ? (x as tf.Tensor1D) : tf.mean(x, Array.from({ length: x.rank - 1 }, (_, i) => i + 1));
}

function categorical(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const p = tf.clipByValue(tf.div(yPred, tf.sum(yPred, -1, true)), EPSILON, 1 - EPSILON);
  return tf.neg(tf.sum(tf.mul(yTrue, tf.log(p)), -1));
}

const NAMED: Record<LossName, PerExampleLoss> = {
  categoricalCrossentropy: (yTrue, yPred) => perExample(categorical(yTrue, yPred)),
  sparseCategoricalCrossentropy: (yTrue, yPred) =>
    perExample(categorical(tf.oneHot(tf.reshape(tf.cast(yTrue, 'int32'), yPred.shape.slice(0, -1)), yPred.shape[yPred.rank - 1]!), yPred)),
  binaryCrossentropy: (yTrue, yPred) => {
    const p = tf.clipByValue(yPred, EPSILON, 1 - EPSILON);
    return perExample(tf.neg(tf.add(tf.mul(yTrue, tf.log(p)), tf.mul(tf.sub(1, yTrue), tf.log(tf.sub(1, p))))));
  },
  meanSquaredError: (yTrue, yPred) => perExample(tf.square(tf.sub(yTrue, yPred))),
};

/**
 * The per-example loss given as `loss` (a name or a function), or the model's compiled loss when it
 * is one of the names.
 */
export function resolveLoss(loss: unknown, compiled: unknown): PerExampleLoss {
  if (typeof loss === 'function') return checkedLoss(loss as PerExampleLoss);
  const name = loss === undefined ? compiled : loss;
  if (typeof name === 'string' && Object.hasOwn(NAMED, name)) return NAMED[name as LossName];
  const names = Object.keys(NAMED).join("', '");
  if (loss === undefined) {
    throw new PrivkitError('E_ARG', `loss must be given ('${names}' or a per-example function) unless the model is compiled with one of those names, got model.loss ${describe(compiled)}`, { argument: 'loss' });
  }
  throw new PrivkitError('E_ARG', `loss must be '${names}' or a function (yTrue, yPred) => per-example losses, got ${describe(loss)}`, { argument: 'loss' });
}

function checkedLoss(loss: PerExampleLoss): PerExampleLoss {
  return (yTrue, yPred) => {
    const out = loss(yTrue, yPred);
    if (!(out instanceof tf.Tensor) || out.rank !== 1 || out.shape[0] !== yPred.shape[0]) {
      throw new PrivkitError('E_SHAPE', `loss must return one loss per example (a tensor of shape [${yPred.shape[0]}]), got ${out instanceof tf.Tensor ? `shape [${out.shape.join(', ')}]` : describe(out)}`, { argument: 'loss' });
    }
    return out;
  };
}
