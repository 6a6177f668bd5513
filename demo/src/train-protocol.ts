// The training panel's constants and the messages between the page (train-panel.ts) and its
// training worker (train-worker.ts); also the layout of the MNIST asset (see ../mnist-plugin.ts).

/** The MNIST subset, next to index.html: 10 x DIGITS_PER_CLASS labels, then as many 784-byte images. */
export const MNIST_ASSET = 'mnist-digits.bin';
export const MNIST_PIXELS = 784;
export const DIGITS_PER_CLASS = 300;
/** Held-out digits (the rest are dealt out to the clients). */
export const TEST_IMAGES = 500;
export const TRAIN_IMAGES = 10 * DIGITS_PER_CLASS - TEST_IMAGES;
export const DELTA = 1e-5;
export const TRAIN_THREADS = 2;

/** What the user sets; `seed` makes the run reproducible (sampling, training and noise: a simulation only). */
export interface TrainConfig {
  epsilon: number;
  rounds: number;
  clients: number;
  clientsPerRound: number;
  secureAggregation: boolean;
  dropoutRate: number;
  seed?: number;
}

export interface TrainRequest {
  type: 'train';
  config: TrainConfig;
  /** Absolute URL of MNIST_ASSET. */
  dataUrl: string;
}

/** Sent once the data is loaded and the noise calibrated. */
export interface TrainSetup {
  paramCount: number;
  noiseMultiplier: number;
  clipNorm: number;
  threads: number;
  sharedMemory: boolean;
  /** Secure aggregation's plan (absent for central DP). */
  secure?: { bits: number; neighbours: number; localSigma: number };
}

export interface RoundUpdate {
  round: number;
  /** Clients sampled this round. */
  sampled: number;
  /** Updates in the released sum. */
  included: number;
  /** Sampled clients whose update was lost (failed to report, or before sending their masked input). */
  lost: number;
  /** Clients that failed after sending their masked input: secure aggregation recovered them. */
  recovered: number;
  accuracy: number;
  /** Running epsilon at DELTA. */
  epsilon: number;
  /** Wall time of the whole round (local training, aggregation, evaluation). */
  roundMs: number;
  /** Secure aggregation: the clients' rotate, quantize and noise work, and the protocol. */
  clientMs?: number;
  protocolMs?: number;
}

export type TrainMessage =
  | { type: 'progress'; text: string }
  | { type: 'setup'; setup: TrainSetup }
  | { type: 'round'; round: RoundUpdate }
  | { type: 'done'; totalMs: number }
  | { type: 'error'; message: string };
