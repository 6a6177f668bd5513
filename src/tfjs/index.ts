// privkit/tfjs: DP-SGD for TensorFlow.js models (@tensorflow/tfjs-core >= 4.22, an optional peer
// dependency): makePrivate for tfjs layers models (ghost clipping), dpGradients for custom loops,
// the Poisson sampler of the DP data loader, and flModel: a tfjs model for privkit/fl's FedAvg.
export { makePrivate, PrivateModel } from './private.js';
export type { EpochLogs, FitCallbacks, FitHistory, FitOptions, MakePrivateOptions, StepResult, TrainingBatch } from './private.js';
export { dpGradients } from './gradients.js';
export type { Batch, DpGradientsOptions } from './gradients.js';
export type { NoisedGradients } from './noised-sum.js';
export { flModel } from './fl-model.js';
export type { FlModelOptions } from './fl-model.js';
export { poissonSample } from './sampling.js';
export type { PoissonSampleOptions } from './sampling.js';
export type { LayerLike, LayersModelLike } from './layers.js';
export type { LossName, PerExampleLoss } from './losses.js';
