// Sweep rows of privkit/fl and privkit/audit on a tiny model (4 inputs, 2 classes, 6 samples) so that
// every valid call trains or audits in milliseconds.
import * as fl from 'privkit/fl';
import * as au from 'privkit/audit';
import {
  arrayOf,
  bool,
  fn,
  instance,
  int,
  nonNegative,
  num,
  obj,
  oneOf,
  opaque,
  positive,
  probability,
  rngField,
  str,
  typed,
  union,
  type Domain,
  type Row,
  type SweepRow,
} from '../sweep-harness.js';
import { seedBytes, seeded } from './fixtures.js';

const spec = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;
const model = () => fl.createModel(spec);
const images = () => Float32Array.of(1, 0, 0.5, 0, 0, 1, 0, 0.5, 1, 1, 0, 0, 0, 0, 1, 1, 0.5, 0.5, 0, 0, 0, 0.25, 0.75, 1);
const labels = () => Uint8Array.of(0, 1, 0, 1, 0, 1);
const dataset = () => ({ images: images(), labels: labels() });
const datasetDomain: Domain = obj({ images: typed('Float32Array'), labels: typed('Uint8Array') });
const params = () => new Float32Array(10).fill(0.1);
const localDomain = obj({ epochs: int(1, 1000), batchSize: int(1), learningRate: positive() });
const seedDomain = typed('Uint8Array', { optional: true });
const entry = 'privkit/fl';

const modelRows: Row[] = [
  {
    entry,
    export: 'createModel',
    params: [
      {
        name: 'spec',
        domain: obj({ type: oneOf(['softmax-regression', 'mlp']), inputs: int(1, 1 << 16, { optional: true }), classes: int(2, 256, { optional: true }), hidden: int(1, 1 << 16, { optional: true }) }),
      },
    ],
    args: () => [{ type: 'mlp', inputs: 4, classes: 2, hidden: 3 }],
    call: ([s]) => fl.createModel(s).spec,
    notApplicable: {
      'spec.inputs=2^31': 'refused (above 2^16) as 1e308',
    },
  },
  {
    entry,
    export: 'Model',
    label: 'Model#initParams',
    setup: () => fl.createModel({ type: 'mlp', inputs: 4, classes: 2, hidden: 3 }),
    params: [{ name: 'opts', domain: obj({ seed: seedDomain }, { optional: true }) }],
    args: () => [{ seed: seedBytes() }],
    call: ([o], m: fl.Model) => m.initParams(o),
  },
  ...(['lossAndGradient', 'evaluate'] as const).map(
    (method): Row => ({
      entry,
      export: 'Model',
      label: `Model#${method}`,
      setup: model,
      params: [
        { name: 'params', domain: typed('Float32Array') },
        { name: 'images', domain: typed('Float32Array') },
        { name: 'labels', domain: typed('Uint8Array') },
      ],
      args: () => [params(), images(), labels()],
      call: ([p, x, y], m: fl.Model) => m[method](p, x, y),
    }),
  ),
  {
    entry,
    export: 'Model',
    label: 'Model#accumulate',
    setup: model,
    params: [
      { name: 'params', domain: typed('Float32Array') },
      { name: 'images', domain: typed('Float32Array') },
      { name: 'labels', domain: typed('Uint8Array') },
      { name: 'order', domain: union([typed('Uint32Array'), { kind: 'enum', values: [null] }]) },
      { name: 'start', domain: int(0, 6) },
      { name: 'end', domain: int(0, 6) },
      { name: 'gradient', domain: union([typed('Float64Array'), { kind: 'enum', values: [null] }]) },
    ],
    args: () => [params(), images(), labels(), Uint32Array.of(5, 4, 3, 2, 1, 0), 1, 4, new Float64Array(10)],
    call: ([p, x, y, o, s, e, g], m: fl.Model) => ({ totals: m.accumulate(p, x, y, o, s, e, g), gradient: g }),
  },
  {
    entry,
    export: 'localUpdate',
    params: [
      { name: 'model', domain: instance('Model') },
      { name: 'params', domain: typed('Float32Array') },
      { name: 'images', domain: typed('Float32Array') },
      { name: 'labels', domain: typed('Uint8Array') },
      { name: 'opts', domain: obj({ epochs: int(1, 1000), batchSize: int(1), learningRate: positive(), seed: seedDomain }) },
    ],
    args: () => [model(), params(), images(), labels(), { epochs: 2, batchSize: 4, learningRate: 0.5, seed: seedBytes() }],
    call: ([m, p, x, y, o]) => fl.localUpdate(m, p, x, y, o),
  },
  {
    entry,
    export: 'splitClients',
    params: [{ name: 'count', domain: int(1, 6) }, { name: 'data', domain: datasetDomain }, { name: 'opts', domain: obj({ partition: oneOf(['iid', 'label-sorted'], { optional: true }) }, { optional: true }) }],
    args: () => [3, dataset(), { partition: 'label-sorted' }],
    call: ([n, d, o]) => fl.splitClients(n, d, o),
  },
];

const deltas = () => [Float32Array.of(0.5, 0.5, 0, 0, 1, 0, 0, 0, 0, 0), new Float32Array(10).fill(0.25)];
const aggregateParams = [
  { name: 'clippedDeltas', domain: arrayOf(typed('Float32Array')) },
  { name: 'round', domain: int(1) },
];
const aggregatorRows: Row[] = [
  {
    entry,
    export: 'NonPrivateAggregator',
    label: 'new NonPrivateAggregator',
    params: [{ name: 'options', domain: obj({ dimension: int(1, 1 << 27) }) }],
    args: () => [{ dimension: 10 }],
    call: async ([o]) => (await new fl.NonPrivateAggregator(o).aggregate([], 1)).sum.length,
  },
  {
    entry,
    export: 'NonPrivateAggregator',
    label: 'NonPrivateAggregator#aggregate',
    setup: () => new fl.NonPrivateAggregator({ dimension: 10 }),
    params: aggregateParams,
    args: () => [deltas(), 1],
    call: ([d, r], a: fl.NonPrivateAggregator) => a.aggregate(d, r),
  },
  {
    entry,
    export: 'CentralDpAggregator',
    label: 'new CentralDpAggregator',
    params: [{ name: 'options', domain: obj({ dimension: int(1, 1 << 27), clipNorm: positive(), noiseMultiplier: positive(), rng: rngField() }) }],
    args: () => [{ dimension: 10, clipNorm: 1, noiseMultiplier: 1.1, rng: seeded() }],
    call: ([o]) => new fl.CentralDpAggregator(o).noiseStddev,
  },
  {
    entry,
    export: 'CentralDpAggregator',
    label: 'CentralDpAggregator#aggregate',
    setup: () => new fl.CentralDpAggregator({ dimension: 10, clipNorm: 1, noiseMultiplier: 1.1, rng: seeded() }),
    params: aggregateParams,
    args: () => [deltas(), 1],
    call: ([d, r], a: fl.CentralDpAggregator) => a.aggregate(d, r),
  },
];

const secureOptions = {
  dimension: int(1, 1 << 27),
  clipNorm: positive(),
  clientsPerRound: int(1, 1 << 16),
  bits: int(1, 32, { optional: true }),
  wrapProbability: probability({ optional: true }),
  minClients: int(1, 1 << 16, { optional: true }),
  dropoutRate: num({ min: 0, below: 1, optional: true }),
  wire: oneOf(['json', 'structured-clone'], { optional: true }),
};
/** Updates already clipped to norm <= 1 (the secure aggregator refuses larger ones). */
const clipped = () => [Float32Array.of(0.5, 0.5, 0, 0, 0.5, 0, 0, 0, 0, 0), new Float32Array(10).fill(0.25), new Float32Array(10).fill(-0.1)];
const secureAggregator = () =>
  new fl.SecureAggregator({ dimension: 10, clipNorm: 1, noiseMultiplier: 1, clientsPerRound: 3, bits: 20, neighbours: 2, minClients: 2, dropoutRate: 0, rng: seeded(), wire: 'structured-clone' });
const secureRows: Row[] = [
  {
    entry,
    export: 'SecureAggregator',
    label: 'new SecureAggregator',
    params: [{ name: 'options', domain: obj({ ...secureOptions, noiseMultiplier: positive(), neighbours: int(2, Number.MAX_SAFE_INTEGER, { optional: true }), rng: rngField() }) }],
    args: () => [{ dimension: 10, clipNorm: 1, noiseMultiplier: 1, clientsPerRound: 3, bits: 20, wrapProbability: 1e-9, neighbours: 2, minClients: 2, dropoutRate: 0.1, rng: seeded(), wire: 'json' }],
    call: ([o]) => new fl.SecureAggregator(o).plan.scale,
  },
  {
    entry,
    export: 'SecureAggregator',
    label: 'SecureAggregator#aggregate',
    setup: secureAggregator,
    params: aggregateParams,
    args: () => [clipped(), 1],
    call: ([d, r], a: fl.SecureAggregator) => a.aggregate(d, r),
    random: 'the secure-aggregation round draws its masks and keys from the CSPRNG (the sum is checked by the protocol tests)',
  },
  {
    entry,
    export: 'SecureAggregator',
    label: 'SecureAggregator#epsilonAgainstServer',
    setup: secureAggregator,
    params: [{ name: 'delta', domain: probability() }],
    args: () => [1e-5],
    call: ([d], a: fl.SecureAggregator) => a.epsilonAgainstServer(d),
  },
  {
    entry,
    export: 'SecureAggregator',
    label: 'SecureAggregator#threshold',
    setup: secureAggregator,
    params: [{ name: 'clients', domain: int(1) }],
    args: () => [5],
    call: ([n], a: fl.SecureAggregator) => a.threshold(n),
  },
  {
    entry,
    export: 'calibrateSecureNoise',
    params: [
      {
        name: 'options',
        domain: obj({
          ...secureOptions,
          targetEpsilon: positive(),
          delta: probability(),
          rounds: int(1),
          sampleRate: num({ above: 0, max: 1 }),
          sampling: oneOf(['poisson', 'without-replacement'], { optional: true }),
        }),
      },
    ],
    // Poisson sampling: 50 ms a calibration (without replacement: 1.4 s)
    args: () => [{ dimension: 10, clipNorm: 1, clientsPerRound: 10, bits: 20, targetEpsilon: 8, delta: 1e-5, rounds: 5, sampleRate: 0.5, sampling: 'poisson' }],
    call: ([o]) => fl.calibrateSecureNoise(o),
    slow: 'each calibration bisects over the RDP of the distributed discrete Gaussian (50 ms to 1.4 s)',
  },
];

const prioOptions = () => ({ dimension: 10, clipNorm: 1, bits: 8, noiseMultiplier: 1, chunkLength: 9, normChunkLength: 3, rng: seeded() });
const prioAggregator = () => new fl.PrioAggregator(prioOptions());
const prioRows: SweepRow[] = [
  { entry, export: 'MAX_PRIO_FL_BITS', constant: true },
  {
    entry,
    export: 'PrioAggregator',
    label: 'new PrioAggregator',
    params: [
      {
        name: 'options',
        domain: obj({
          dimension: int(1, 1 << 27),
          clipNorm: positive(),
          bits: int(2, 24, { optional: true }),
          noiseMultiplier: nonNegative({ max: 1000 }),
          circuit: oneOf(['pine', 'bits'], { optional: true }),
          // PINE (the default) at dimension 10, bits 8 (M = 16,534): 15 norm bits and 100 tests of 12 bits
          chunkLength: int(1, 1215, { optional: true }),
          normChunkLength: int(1, 10, { optional: true }),
          rng: rngField(),
        }),
      },
    ],
    args: () => [prioOptions()],
    call: ([o]) => new fl.PrioAggregator(o).noiseSigma,
  },
  {
    entry,
    export: 'PrioAggregator',
    label: 'PrioAggregator#clientReport',
    setup: prioAggregator,
    params: [{ name: 'update', domain: typed('Float32Array') }],
    args: () => [new Float32Array(10).fill(0.25)],
    call: ([u], a: fl.PrioAggregator) => a.clientReport(u).inputShares.length,
  },
  {
    entry,
    export: 'PrioAggregator',
    label: 'PrioAggregator#aggregate',
    setup: prioAggregator,
    params: aggregateParams,
    args: () => [clipped(), 1],
    call: ([d, r], a: fl.PrioAggregator) => a.aggregate(d, r),
    random: 'the clients shard with fresh randomness and the aggregators add noise (the sums are checked by test/fl/prio-aggregator.test.ts)',
  },
  {
    entry,
    export: 'PrioAggregator',
    label: 'PrioAggregator#aggregateReports',
    setup: prioAggregator,
    params: [
      { name: 'reports', domain: arrayOf(opaque('a report is any value: one that is not a well-formed report is rejected and counted, not refused')) },
      { name: 'round', domain: int(1) },
    ],
    args: () => [[], 1],
    call: async ([reports, r], a: fl.PrioAggregator) => (await a.aggregateReports(reports, r)).included,
  },
  {
    entry,
    export: 'PrioAggregator',
    label: 'PrioAggregator#epsilonAgainstAggregators',
    setup: prioAggregator,
    params: [{ name: 'delta', domain: probability() }],
    args: () => [1e-5],
    call: ([d], a: fl.PrioAggregator) => a.epsilonAgainstAggregators(d),
  },
  { entry, export: 'PrioAggregator', label: 'PrioAggregator#worstCaseEvent', setup: prioAggregator, params: [], args: () => [], call: (_, a: fl.PrioAggregator) => a.worstCaseEvent() },
];

const fedAvgDomain = obj({
  model: instance('Model'),
  clients: arrayOf(datasetDomain),
  rounds: int(1, 1 << 20),
  clientsPerRound: int(1, 3),
  sampling: oneOf(['poisson', 'without-replacement'], { optional: true }),
  local: localDomain,
  clipNorm: positive({ optional: true }),
  noiseMultiplier: nonNegative({ optional: true }),
  delta: probability({ optional: true }),
  serverLearningRate: positive({ optional: true }),
  serverMomentum: num({ min: 0, below: 1, optional: true }),
  dropoutRate: num({ min: 0, below: 1, optional: true }),
  test: { ...datasetDomain, optional: true },
  evalEvery: int(1, Number.MAX_SAFE_INTEGER, { optional: true }),
  initialParams: typed('Float32Array', { optional: true }),
  pool: instance('Pool', { optional: true }),
  seed: seedDomain,
});
const fedAvgOptions = () => ({
  model: model(),
  clients: [dataset(), dataset(), dataset()],
  rounds: 2,
  clientsPerRound: 2,
  // Poisson sampling: its per-round accounting is cheap (replace-one without replacement takes ~60 ms a round)
  sampling: 'poisson',
  local: { epochs: 1, batchSize: 3, learningRate: 0.5 },
  clipNorm: 1,
  noiseMultiplier: 0.5,
  delta: 1e-5,
  serverLearningRate: 1,
  serverMomentum: 0.5,
  dropoutRate: 0.1,
  test: dataset(),
  evalEvery: 1,
  initialParams: params(),
  seed: seedBytes(4),
});
const fedAvgRows: Row[] = [
  {
    entry,
    export: 'FedAvg',
    label: 'new FedAvg + runRound',
    params: [{ name: 'options', domain: fedAvgDomain }],
    args: () => [fedAvgOptions()],
    call: async ([o]) => {
      const f = new fl.FedAvg(o);
      const metrics = await f.runRound();
      return { params: f.params, epsilon: f.epsilon, sampled: metrics.sampled, accuracy: metrics.accuracy };
    },
  },
  {
    entry,
    export: 'FedAvg',
    label: 'FedAvg#runRound',
    setup: () => fedAvgOptions() as fl.FedAvgOptions,
    params: [{ name: 'opts', domain: obj({ signal: instance('AbortSignal', { optional: true }), onProgress: fn({ optional: true }) }, { optional: true }) }],
    args: () => [{ signal: new AbortController().signal, onProgress: () => undefined }],
    call: async ([o], options: fl.FedAvgOptions) => {
      const f = new fl.FedAvg(options);
      const metrics = await f.runRound(o);
      return { params: f.params, sampled: metrics.sampled };
    },
  },
  {
    entry,
    export: 'FedAvg',
    label: 'FedAvg#evaluate',
    setup: () => new fl.FedAvg(fedAvgOptions() as fl.FedAvgOptions),
    params: [{ name: 'data', domain: datasetDomain }],
    args: () => [dataset()],
    call: ([d], f: fl.FedAvg) => f.evaluate(d),
  },
  {
    entry,
    export: 'runFedAvg',
    params: [
      { name: 'options', domain: fedAvgDomain },
      { name: 'callbacks', domain: obj({ onRound: fn({ optional: true }), onProgress: fn({ optional: true }), signal: instance('AbortSignal', { optional: true }) }, { optional: true }) },
    ],
    args: () => [{ ...fedAvgOptions(), rounds: 1 }, { onRound: () => undefined, onProgress: () => undefined, signal: new AbortController().signal }],
    call: async ([o, c]) => {
      const r = await fl.runFedAvg(o, c);
      return { params: r.params, epsilon: r.epsilon, accuracy: r.accuracy };
    },
  },
];

// ---- privkit/audit

const auditEntry = 'privkit/audit';
const oneRunCounts = { canaries: int(1), guesses: int(1), correct: int(0), delta: num({ min: 0, below: 1, optional: true }) };
const auditRows: Row[] = [
  {
    entry: auditEntry,
    export: 'auditMechanism',
    params: [
      {
        name: 'options',
        domain: obj({
          mechanism: union([fn(), obj({ module: union([str(), instance('URL')]), export: str(), args: arrayOf(opaque('passed to the mechanism'), { optional: true }) })]),
          inputs: arrayOf(opaque('inputs are given to the mechanism as they are')),
          epsilon: nonNegative(),
          delta: num({ min: 0, below: 1, optional: true }),
          trials: int(100, 2 ** 26, { optional: true }),
          confidence: probability({ optional: true }),
          pool: instance('Pool', { optional: true }),
        }),
      },
    ],
    args: () => [{ mechanism: (input: number) => input + (Math.sin(input * 7919) > 0 ? 0.5 : 0), inputs: [0, 1], epsilon: 1, delta: 0, trials: 100, confidence: 0.95 }],
    call: ([o]) => au.auditMechanism(o),
    notApplicable: {
      'options.trials=missing': 'the default 1,000,000 trials (seconds)',
      'options.trials=undefined': 'the default 1,000,000 trials (seconds)',
    },
  },
  {
    entry: auditEntry,
    export: 'oneRunPValue',
    params: [{ name: 'counts', domain: obj({ ...oneRunCounts, epsilon: nonNegative() }) }],
    args: () => [{ canaries: 100, guesses: 20, correct: 18, delta: 1e-5, epsilon: 1 }],
    call: ([c]) => au.oneRunPValue(c),
  },
  {
    entry: auditEntry,
    export: 'oneRunEpsilonLowerBound',
    params: [{ name: 'counts', domain: obj({ ...oneRunCounts, confidence: probability({ optional: true }) }) }],
    args: () => [{ canaries: 100, guesses: 20, correct: 18, delta: 1e-5, confidence: 0.95 }],
    call: ([c]) => au.oneRunEpsilonLowerBound(c),
  },
  {
    entry: auditEntry,
    export: 'auditCanaryScores',
    params: [
      {
        name: 'options',
        domain: obj({
          scores: arrayOf(num(), { arrayLike: true }),
          included: arrayOf(union([bool(), oneOf([0, 1])]), { arrayLike: true }),
          delta: num({ min: 0, below: 1, optional: true }),
          confidence: probability({ optional: true }),
          guesses: int(1, 8, { optional: true }),
        }),
      },
    ],
    args: () => [{ scores: [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.95, 0.05], included: [1, 0, 1, 0, 1, 0, 1, 0], delta: 1e-5, confidence: 0.95, guesses: 4 }],
    call: ([o]) => au.auditCanaryScores(o),
  },
  {
    entry: auditEntry,
    export: 'auditDpSgd',
    params: [
      {
        name: 'options',
        domain: obj({
          canaries: int(1, 1 << 20),
          dimension: int(1, 1 << 20),
          steps: int(1, 1 << 20),
          sampleRate: num({ above: 0, max: 1 }),
          noiseMultiplier: positive(),
          clipNorm: positive({ optional: true }),
          examples: int(1, 1 << 20, { optional: true }),
          learningRate: positive({ optional: true }),
          privatize: fn({ optional: true }),
          delta: probability({ optional: true }),
          confidence: probability({ optional: true }),
          guesses: int(1, 8, { optional: true }),
          seed: seedDomain,
        }),
      },
    ],
    args: () => [{ canaries: 8, dimension: 4, steps: 3, sampleRate: 0.5, noiseMultiplier: 1, clipNorm: 1, examples: 16, learningRate: 0.5, delta: 1e-5, confidence: 0.95, guesses: 4, seed: seedBytes(6) }],
    call: ([o]) => au.auditDpSgd(o),
    notApplicable: {
      'options.examples=missing': 'the default 1000 examples (slower, valid)',
      'options.examples=undefined': 'the default 1000 examples (slower, valid)',
    },
  },
  {
    entry: auditEntry,
    export: 'CanaryAggregator',
    label: 'new CanaryAggregator',
    params: [
      {
        name: 'options',
        domain: obj({
          aggregator: instance('UpdateAggregator'),
          canaries: int(1, 1 << 20),
          dimension: int(1, 1 << 27),
          clipNorm: positive(),
          sampleRate: num({ above: 0, max: 1 }),
          seed: seedDomain,
        }),
      },
    ],
    args: () => [{ aggregator: new fl.NonPrivateAggregator({ dimension: 10 }), canaries: 4, dimension: 10, clipNorm: 1, sampleRate: 0.5, seed: seedBytes(7) }],
    call: ([o]) => ({ directions: new au.CanaryAggregator(o).directions }),
  },
  {
    entry: auditEntry,
    export: 'CanaryAggregator',
    label: 'CanaryAggregator#aggregate',
    setup: () => new au.CanaryAggregator({ aggregator: new fl.NonPrivateAggregator({ dimension: 10 }), canaries: 4, dimension: 10, clipNorm: 1, sampleRate: 0.5, seed: seedBytes(7) }),
    params: aggregateParams,
    args: () => [deltas(), 1],
    call: ([d, r], a: au.CanaryAggregator) => a.aggregate(d, r),
  },
  {
    entry: auditEntry,
    export: 'CanaryAggregator',
    label: 'CanaryAggregator#scores',
    setup: () => new au.CanaryAggregator({ aggregator: new fl.NonPrivateAggregator({ dimension: 10 }), canaries: 4, dimension: 10, clipNorm: 1, sampleRate: 0.5, seed: seedBytes(7) }),
    params: [{ name: 'initialParams', domain: typed('Float32Array') }, { name: 'finalParams', domain: typed('Float32Array') }],
    args: () => [params(), new Float32Array(10).fill(0.3)],
    call: ([a, b], c: au.CanaryAggregator) => c.scores(a, b),
  },
  {
    entry: auditEntry,
    export: 'auditFedAvg',
    params: [
      {
        name: 'options',
        domain: obj({
          fedAvg: obj({
            model: instance('Model'),
            clients: arrayOf(datasetDomain),
            rounds: int(1, 1 << 20),
            clientsPerRound: int(1, 3),
            sampling: oneOf(['poisson']),
            local: localDomain,
            clipNorm: positive(),
            noiseMultiplier: nonNegative(),
            seed: seedDomain,
          }),
          canaries: int(1, 1 << 20),
          confidence: probability({ optional: true }),
          guesses: int(1, 4, { optional: true }),
        }),
      },
    ],
    args: () => [
      {
        fedAvg: { model: model(), clients: [dataset(), dataset(), dataset()], rounds: 2, clientsPerRound: 2, sampling: 'poisson', local: { epochs: 1, batchSize: 3, learningRate: 0.5 }, clipNorm: 1, noiseMultiplier: 1, seed: seedBytes(8) },
        canaries: 4,
        confidence: 0.95,
        guesses: 2,
      },
    ],
    call: ([o]) => au.auditFedAvg(o),
    notApplicable: { 'options.fedAvg.rounds=2^31': 'refused above 2^20 as 1e308' },
  },
  {
    entry: auditEntry,
    export: 'clopperPearson',
    params: [{ name: 'successes', domain: int(0) }, { name: 'trials', domain: int(1) }, { name: 'confidence', domain: probability() }],
    args: () => [7, 20, 0.95],
    call: ([k, n, c]) => au.clopperPearson(k, n, c),
  },
  {
    entry: auditEntry,
    export: 'betaQuantile',
    params: [{ name: 'p', domain: num({ min: 0, max: 1 }) }, { name: 'a', domain: positive() }, { name: 'b', domain: positive() }, { name: 'opts', domain: obj({ upper: bool({ optional: true }) }, { optional: true }) }],
    args: () => [0.05, 3, 5, { upper: true }],
    call: ([p, a, b, o]) => au.betaQuantile(p, a, b, o),
  },
  {
    entry: auditEntry,
    export: 'betaTails',
    params: [{ name: 'x', domain: num({ min: 0, max: 1 }) }, { name: 'y', domain: num({ min: 0, max: 1 }) }, { name: 'a', domain: positive() }, { name: 'b', domain: positive() }],
    args: () => [0.25, 0.75, 3, 5],
    call: ([x, y, a, b]) => au.betaTails(x, y, a, b),
  },
];

export const flRows: SweepRow[] = [...modelRows, ...aggregatorRows, ...secureRows, ...prioRows, ...fedAvgRows, ...auditRows];
