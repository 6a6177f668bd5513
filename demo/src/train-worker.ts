// The training worker: federated learning of a digit classifier entirely in the browser, off the
// page's thread. It loads the MNIST asset, splits it with a seeded shuffle into training digits
// (dealt out to the clients) and held-out ones, calibrates the noise to the target epsilon, and runs
// DP-FedAvg one round at a time (FedAvg.runRound): the sampled clients train locally in a pool of
// nested Web Workers, and their clipped updates reach the server only as a secure sum
// (SecureAggregator: distributed discrete Gaussian noise, SecAgg+ masking with dropout recovery) or,
// with secure aggregation off, the server sums them and adds the noise (CentralDpAggregator).
// Training settings are those of `npm start` (examples/fl-mnist.ts). One message per round.
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { calibrateSecureNoise, createModel, FedAvg, SecureAggregator, splitClients } from 'privkit/fl';
import { createPool, sharedFloat32Array } from 'privkit/pool';
import { loadDigits, seedBytes } from './digits';
import {
  DELTA,
  TRAIN_THREADS,
  type RoundUpdate,
  type TrainMessage,
  type TrainRequest,
  type TrainSetup,
} from './train-protocol';

const post = (message: TrainMessage) => postMessage(message);

const CLIP_NORM = 0.1;
const LOCAL = { epochs: 2, batchSize: 8, learningRate: 0.5 };
const SERVER_MOMENTUM = 0.9;
/** Stream of the aggregator's generator under a run's seed (FedAvg uses streams 0 to 3). */
const AGGREGATOR_STREAM = 16;

async function train({ config, dataUrl }: TrainRequest): Promise<void> {
  const started = performance.now();
  await ready();
  post({ type: 'progress', text: 'Loading the digits...' });
  // On shared memory (when the page is isolated) the pool's workers read the clients' digits in place.
  const data = await loadDigits(dataUrl, sharedFloat32Array);
  const seed = config.seed === undefined ? undefined : seedBytes(config.seed);
  const rng = seed === undefined ? {} : { rng: createRng({ seed, stream: AGGREGATOR_STREAM }) };
  const model = createModel({ type: 'softmax-regression' });
  const dimension = model.paramCount;
  const sampleRate = config.clientsPerRound / config.clients;

  post({ type: 'progress', text: `Calibrating the noise to epsilon ${config.epsilon}...` });
  // Central DP: FedAvg calibrates its own aggregator (fixed-size samples, replace-one neighbours, the
  // sampler's slack). Secure aggregation: calibrated here for the same sampling, within the same target.
  let secure: SecureAggregator | undefined;
  if (config.secureAggregation) {
    const common = { dimension, clipNorm: CLIP_NORM, clientsPerRound: config.clientsPerRound, dropoutRate: config.dropoutRate };
    const { noiseMultiplier } = calibrateSecureNoise({ ...common, targetEpsilon: config.epsilon, delta: DELTA, rounds: config.rounds, sampleRate });
    secure = new SecureAggregator({ ...common, noiseMultiplier, ...rng });
  }

  post({ type: 'progress', text: `Starting ${TRAIN_THREADS} pool workers...` });
  const pool = await createPool({ threads: TRAIN_THREADS });
  try {
    const fedavg = new FedAvg({
      model,
      clients: splitClients(config.clients, data.train),
      rounds: config.rounds,
      clientsPerRound: config.clientsPerRound,
      local: LOCAL,
      serverMomentum: SERVER_MOMENTUM,
      clipNorm: CLIP_NORM,
      delta: DELTA,
      targetEpsilon: config.epsilon,
      ...(secure === undefined ? {} : { aggregator: secure }),
      // Without secure aggregation, the dropouts are sampled clients that fail to report.
      ...(secure === undefined ? { dropoutRate: config.dropoutRate } : {}),
      test: data.test,
      evalEvery: 1,
      pool,
      ...(seed === undefined ? {} : { seed }),
    });
    const setup: TrainSetup = {
      paramCount: dimension,
      noiseMultiplier: fedavg.noiseMultiplier,
      clipNorm: CLIP_NORM,
      threads: pool.threads,
      // SharedArrayBuffer exists only on cross-origin-isolated pages: test for it before instanceof.
      sharedMemory: typeof SharedArrayBuffer === 'function' && data.train.images.buffer instanceof SharedArrayBuffer,
    };
    if (secure !== undefined) setup.secure = { bits: secure.plan.bits, neighbours: secure.neighbours, localSigma: secure.plan.localSigma };
    post({ type: 'setup', setup });

    for (let r = 0; r < config.rounds; r++) {
      const metrics = await fedavg.runRound();
      const round: RoundUpdate = {
        round: metrics.round,
        sampled: metrics.sampled,
        included: metrics.included,
        lost: metrics.dropouts,
        recovered: 0,
        accuracy: metrics.accuracy!,
        epsilon: metrics.epsilon,
        roundMs: metrics.seconds * 1000,
      };
      // SecureAggregator reports every round that had clients.
      const report = secure?.reports.at(-1);
      if (report !== undefined && report.round === metrics.round) {
        round.lost = report.droppedBeforeInput;
        round.recovered = report.droppedAfterInput;
        round.clientMs = report.clientMs;
        round.protocolMs = report.protocolMs;
      }
      post({ type: 'round', round });
    }
  } finally {
    await pool.close();
  }
  post({ type: 'done', totalMs: performance.now() - started });
}

addEventListener('message', (event: MessageEvent<TrainRequest>) => {
  if (event.data?.type !== 'train') return;
  train(event.data).catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
});
