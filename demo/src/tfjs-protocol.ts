// The DP-SGD panel's recipe and the messages between the page (tfjs-panel.ts) and its worker
// (tfjs-worker.ts). The end-to-end test (test/e2e/demo-tfjs.test.ts) rebuilds the same model and
// makePrivate options in Node to check the epsilon the page reports.

/** The tfjs backends the panel offers (webgl is left out: headless and GPU-less browsers lack it). */
export const TFJS_BACKENDS = ['wasm', 'cpu'] as const;
export type TfjsBackend = (typeof TFJS_BACKENDS)[number];

/** The fixed part of the recipe (examples/tfjs-mnist.ts's): clip norm, SGD with momentum, the accountant. */
export const TFJS_RECIPE = {
  maxGradNorm: 1,
  learningRate: 0.5,
  momentum: 0.9,
  /** tanh hidden units (Papernot et al. 2020: tempered sigmoids suit DP-SGD's clipped gradients). */
  activation: 'tanh',
  accountant: 'pld',
} as const;

/** What the user sets; `seed` makes the initial weights and the private run's batches and noise reproducible (a simulation only). */
export interface TfjsConfig {
  backend: TfjsBackend;
  targetEpsilon: number;
  epochs: number;
  /** Training digits (the first of the shared split's TRAIN_IMAGES). */
  examples: number;
  /** Expected batch size of the Poisson batches (the non-private run's batch size too). */
  batchSize: number;
  /** Units of the hidden layer of the MLP 784-hidden-10. */
  hidden: number;
  /** Also train the same model without privacy, for comparison. */
  baseline: boolean;
  seed?: number;
}

export interface TfjsRequest {
  type: 'train';
  config: TfjsConfig;
  /** Absolute URL of MNIST_ASSET. */
  dataUrl: string;
}

/** Sent once the backend is up and the noise calibrated. */
export interface TfjsSetup {
  /** The backend tfjs runs on. */
  backend: string;
  paramCount: number;
  noiseMultiplier: number;
  sampleRate: number;
  stepsPerEpoch: number;
  /** Held-out digits the accuracy is measured on. */
  testImages: number;
}

/** One epoch of one of the two runs. */
export interface TfjsEpoch {
  run: 'private' | 'baseline';
  /** 1-based. */
  epoch: number;
  accuracy: number;
  /** Epsilon spent so far at DELTA (the private run only). */
  epsilon?: number;
  /** Training time of the epoch (without the evaluation). */
  ms: number;
}

export type TfjsMessage =
  | { type: 'progress'; text: string }
  | { type: 'setup'; setup: TfjsSetup }
  | { type: 'epoch'; epoch: TfjsEpoch }
  | { type: 'done'; totalMs: number }
  | { type: 'error'; message: string };
