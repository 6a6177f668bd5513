// `npm start`: federated training on MNIST with user-level DP-FedAvg (McMahan et al. 2018) and
// secure aggregation. 8,000 training digits are split across simulated clients; every round a
// fixed-size sample of them trains locally in the worker pool, and their clipped updates reach the
// server only as a secure sum (SecureAggregator: randomized Hadamard rotation, conditional rounding,
// distributed discrete Gaussian noise, SecAgg+ masking with dropout recovery). The noise is
// calibrated so that epsilon at the given delta stays within --epsilon after --rounds rounds. With
// --no-secagg the server adds the noise itself (central DP). A non-private run of the same
// configuration is trained first for comparison. Prints a report at the end.
import { parseArgs } from 'node:util';
import {
  calibrateSecureNoise,
  createModel,
  FedAvg,
  SecureAggregator,
  splitClients,
  type Dataset,
  type UpdateAggregator,
} from 'privkit/fl';
import { createPool, type Pool } from 'privkit/pool';
import { loadMnist, type Mnist } from './mnist.js';
import { ProgressBar } from './progress.js';

const HELP = `Usage: npm start -- [options]

Trains a softmax-regression (or MLP) digit classifier with DP-FedAvg over simulated clients: local
training in a worker pool, updates clipped per client (user-level DP), summed by secure aggregation
with distributed discrete Gaussian noise, epsilon from the RDP accountant. Ends with a report.

Options:
  --epsilon E        target epsilon after all rounds (default 3)
  --delta D          delta (default 1e-5)
  --clients N        clients the 8,000 training digits are split across (default 1000)
  --per-round N      clients per round (default 100)
  --sampling S       without-replacement (default: a fixed-size sample, replace-one neighbours; the
                     epsilon holds for anyone who sees the models and the counts) or poisson (central
                     DP only: the epsilon then holds only for observers who see the models and nothing else)
  --rounds N         training rounds (default 50)
  --dropout P        probability a client fails during secure aggregation (default 0.1)
  --neighbours K     SecAgg+ neighbours per client, even (default 16)
  --bits B           the secure sum lives in Z_2^B (default 20)
  --clip C           L2 bound of a client update (default 0.1)
  --model M          softmax | mlp (default softmax)
  --threads N        pool worker threads (default: number of cores)
  --no-secagg        central DP: the server sees the clipped updates and adds the noise
  --help             show this help
`;

interface Config {
  epsilon: number;
  delta: number;
  clients: number;
  perRound: number;
  rounds: number;
  dropout: number;
  neighbours: number;
  bits: number;
  clip: number;
  model: 'softmax' | 'mlp';
  threads: number | undefined;
  secagg: boolean;
  sampling: 'without-replacement' | 'poisson';
}

function parseConfig(argv: string[]): Config | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      epsilon: { type: 'string' },
      delta: { type: 'string' },
      clients: { type: 'string' },
      'per-round': { type: 'string' },
      rounds: { type: 'string' },
      dropout: { type: 'string' },
      neighbours: { type: 'string' },
      bits: { type: 'string' },
      clip: { type: 'string' },
      model: { type: 'string' },
      threads: { type: 'string' },
      'no-secagg': { type: 'boolean' },
      sampling: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return undefined;
  const number = (name: string, text: string | undefined, fallback: number, ok: (v: number) => boolean, what: string): number => {
    if (text === undefined) return fallback;
    const v = Number(text);
    if (!ok(v)) throw new Error(`--${name} must be ${what}, got "${text}"`);
    return v;
  };
  const integer = (name: string, text: string | undefined, fallback: number, min = 1) =>
    number(name, text, fallback, (v) => Number.isSafeInteger(v) && v >= min, `an integer >= ${min}`);
  const positive = (name: string, text: string | undefined, fallback: number) =>
    number(name, text, fallback, (v) => Number.isFinite(v) && v > 0, 'a positive number');
  const fraction = (name: string, text: string | undefined, fallback: number, lo: number) =>
    number(name, text, fallback, (v) => v >= lo && v < 1, `a number in [${lo}, 1)`);
  const model = values.model ?? 'softmax';
  if (model !== 'softmax' && model !== 'mlp') throw new Error(`--model must be softmax or mlp, got "${model}"`);
  const sampling = values.sampling ?? 'without-replacement';
  if (sampling !== 'without-replacement' && sampling !== 'poisson') throw new Error(`--sampling must be without-replacement or poisson, got "${sampling}"`);
  if (sampling === 'poisson' && values['no-secagg'] !== true) {
    throw new Error('--sampling poisson needs --no-secagg: the distributed noise reveals how many clients took part, which voids Poisson amplification');
  }
  const clients = integer('clients', values.clients, 1000);
  const perRound = integer('per-round', values['per-round'], 100);
  if (perRound > clients) throw new Error(`--per-round (${perRound}) must not exceed --clients (${clients})`);
  if (clients > 8000) throw new Error(`--clients must be at most 8000 (one digit each), got ${clients}`);
  return {
    epsilon: positive('epsilon', values.epsilon, 3),
    delta: fraction('delta', values.delta, 1e-5, Number.MIN_VALUE),
    clients,
    perRound,
    rounds: integer('rounds', values.rounds, 50),
    dropout: fraction('dropout', values.dropout, 0.1, 0),
    neighbours: integer('neighbours', values.neighbours, 16, 2),
    bits: number('bits', values.bits, 20, (v) => Number.isInteger(v) && v >= 8 && v <= 32, 'an integer in [8, 32]'),
    clip: positive('clip', values.clip, 0.1),
    model,
    threads: values.threads === undefined ? undefined : integer('threads', values.threads, 1),
    secagg: values['no-secagg'] !== true,
    sampling,
  };
}

/** Local training and server optimizer settings that work for both models (tuned on the test split). */
function training(config: Config) {
  return {
    model: createModel(config.model === 'mlp' ? { type: 'mlp' } : { type: 'softmax-regression' }),
    local: { epochs: 2, batchSize: 8, learningRate: config.model === 'mlp' ? 0.1 : 0.5 },
    serverMomentum: 0.9,
  };
}

/** How a run is private: not at all, central DP calibrated by FedAvg, or a given aggregator (within the same target). */
type Privacy = 'none' | 'central' | ((dimension: number) => UpdateAggregator);

async function train(
  config: Config,
  data: Mnist,
  pool: Pool,
  label: string,
  privacy: Privacy,
): Promise<{ fedavg: FedAvg; seconds: number; sampled: number; included: number }> {
  const { model, local, serverMomentum } = training(config);
  const dp = { clipNorm: config.clip, delta: config.delta, targetEpsilon: config.epsilon };
  const fedavg = new FedAvg({
    model,
    clients: splitClients(config.clients, data.train),
    rounds: config.rounds,
    clientsPerRound: config.perRound,
    sampling: config.sampling,
    local,
    serverMomentum,
    ...(privacy === 'none' ? {} : privacy === 'central' ? dp : { ...dp, aggregator: privacy(model.paramCount) }),
    test: data.test,
    pool,
  });
  const bar = new ProgressBar(config.rounds, { label, unit: 'rounds' });
  const started = performance.now();
  let sampled = 0;
  let included = 0;
  let accuracy = '';
  for (let r = 0; r < config.rounds; r++) {
    const metrics = await fedavg.runRound();
    sampled += metrics.sampled;
    included += metrics.included;
    if (metrics.accuracy !== undefined) accuracy = `accuracy ${(100 * metrics.accuracy).toFixed(1)}%`;
    const epsilon = Number.isFinite(metrics.epsilon) ? ` epsilon ${metrics.epsilon.toFixed(2)}` : '';
    bar.update(metrics.round, `${accuracy}${epsilon}`);
  }
  bar.finish();
  return { fedavg, seconds: (performance.now() - started) / 1000, sampled, included };
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  if (config === undefined) {
    process.stdout.write(HELP);
    return;
  }
  const data = await loadMnist();
  const pool = await createPool(config.threads === undefined ? {} : { threads: config.threads });
  try {
    const sampleRate = config.perRound / config.clients;
    const baseline = await train(config, data, pool, 'non-private', 'none');
    if (config.secagg) {
      const calibration = { clipNorm: config.clip, clientsPerRound: config.perRound, bits: config.bits, dropoutRate: config.dropout };
      let secure: SecureAggregator | undefined;
      const run = await train(config, data, pool, 'DP + secure aggregation', (dimension) => {
        const { noiseMultiplier } = calibrateSecureNoise({
          ...calibration,
          dimension,
          targetEpsilon: config.epsilon,
          delta: config.delta,
          rounds: config.rounds,
          sampleRate,
          sampling: config.sampling,
        });
        secure = new SecureAggregator({ ...calibration, dimension, noiseMultiplier, neighbours: config.neighbours });
        return secure;
      });
      report(config, data.test, baseline, run, run.fedavg.noiseMultiplier, secure);
    } else {
      const run = await train(config, data, pool, 'central DP', 'central');
      report(config, data.test, baseline, run, run.fedavg.noiseMultiplier, undefined);
    }
  } finally {
    await pool.close();
  }
}

function report(
  config: Config,
  test: Dataset,
  baseline: Awaited<ReturnType<typeof train>>,
  run: Awaited<ReturnType<typeof train>>,
  noiseMultiplier: number,
  secure: SecureAggregator | undefined,
): void {
  const accuracy = (fedavg: FedAvg) => `${(100 * fedavg.evaluate(test).accuracy).toFixed(2)}%`;
  const lines: [string, string][] = [
    ['model', `${config.model === 'mlp' ? 'MLP 784-64-10' : 'softmax regression 784-10'}, ${run.fedavg.model.paramCount} parameters`],
    [
      'clients',
      `${config.clients} (${8000 / config.clients} digits each), ${(run.sampled / config.rounds).toFixed(1)} sampled per round on average (q = ${(config.perRound / config.clients).toFixed(3)}, ${config.sampling === 'poisson' ? 'Poisson' : 'fixed-size, without replacement'})`,
    ],
    ['rounds', `${config.rounds}`],
    ['privacy', `epsilon ${run.fedavg.epsilon.toFixed(3)} at delta ${config.delta} (target ${config.epsilon}); noise multiplier ${noiseMultiplier.toFixed(3)}, clip ${config.clip}`],
    ['observer', `the epsilon holds for ${run.fedavg.observer}`],
  ];
  if (secure !== undefined) {
    const reports = secure.reports;
    const before = reports.reduce((n, r) => n + r.droppedBeforeInput, 0);
    const after = reports.reduce((n, r) => n + r.droppedAfterInput, 0);
    const withheld = reports.filter((r) => r.withheld).length;
    const mean = (pick: (r: (typeof reports)[number]) => number) => reports.reduce((s, r) => s + pick(r), 0) / Math.max(1, reports.length);
    lines.push(
      ['vs the server', `epsilon ${secure.epsilonAgainstServer(config.delta).toFixed(1)} against the aggregation server, which sees who takes part (no amplification by sampling; replace-one neighbours)`],
      ['aggregation', `SecAgg+ (${secure.neighbours} neighbours, Shamir threshold a neighbourhood majority), Z_2^${secure.plan.bits}, distributed discrete Gaussian (local sigma ${secure.plan.localSigma.toFixed(1)} units at scale ${secure.plan.scale.toPrecision(4)})`],
      [
        'dropouts survived',
        `${before + after} clients (${before} before sending their masked input, ${after} after); ${withheld} of ${reports.length} rounds withheld (fewer than ${secure.minClients} masked inputs)`,
      ],
      ['wrap-around', `probability <= ${Math.max(...reports.map((r) => r.wrapProbability)).toExponential(1)} in the worst round`],
      ['secure round', `${mean((r) => r.clientMs).toFixed(1)} ms client work (rotate, quantize, noise) + ${mean((r) => r.protocolMs).toFixed(0)} ms protocol, per round`],
    );
  } else {
    lines.push(['aggregation', 'central DP: the server sums the clipped updates and adds secure Gaussian noise']);
  }
  lines.push(
    ['test accuracy', `${accuracy(run.fedavg)} private, ${accuracy(baseline.fedavg)} non-private (${test.labels.length} held-out digits)`],
    ['wall time', `${run.seconds.toFixed(1)} s private, ${baseline.seconds.toFixed(1)} s non-private`],
  );
  const width = Math.max(...lines.map(([k]) => k.length));
  process.stdout.write(`\n${lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
