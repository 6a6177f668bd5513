// Option checks shared by makePrivate and dpGradients.
import * as tf from '@tensorflow/tfjs-core';
import { PldAccountant } from '../accounting/pld-accountant.js';
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import type { Accountant } from '../accounting/budget.js';
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';

/** An accountant given as an option: privkit's RdpAccountant or PldAccountant. */
export function assertAccountant(name: string, value: unknown): Accountant {
  if (value instanceof RdpAccountant || value instanceof PldAccountant) return value;
  throw new PrivkitError('E_ARG', `${name} must be an RdpAccountant or a PldAccountant, got ${describe(value)}`, { argument: name });
}

/**
 * The accounting event of DP-SGD steps on Poisson samples (add/remove neighbours: one record moves
 * the released lattice sum by at most the charged sensitivity, of which the noise is
 * noiseMultiplier times), with the lattice sampler's pmf slack and tail mass per step (noised-sum.ts).
 */
export function poissonStepEvent(noiseMultiplier: number, sampleRate: number, error: { slack: number; tailMass: number }, steps = 1) {
  return { noiseMultiplier, sampleRate, steps, sampling: 'poisson', neighbours: 'add-remove', slack: error.slack, tailMass: error.tailMass } as const;
}

/** A live tensor (not a forged or disposed one) of rank >= 1: examples on axis 0. */
export function isBatchTensor(value: unknown): value is tf.Tensor {
  if (!(value instanceof tf.Tensor)) return false;
  try {
    return Array.isArray(value.shape) && value.shape.length >= 1 && typeof value.dtype === 'string' && value.dataId !== undefined && !value.isDisposed;
  } catch {
    return false;
  }
}
