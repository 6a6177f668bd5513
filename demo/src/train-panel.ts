// The training panel of the demo page: reads its controls, starts a training worker
// (train-worker.ts) and renders every round as it arrives: the progress line, the chart of accuracy
// and epsilon, then the final report. `?train` starts a run on load; `?epsilon=`, `?rounds=`,
// `?clients=`, `?perRound=`, `?dropout=`, `?seed=` and `?secagg=0|1` preset the controls. The
// section's data-status is 'idle' | 'running' | 'done' | 'error' (the end-to-end test waits on it),
// and each report line carries its number in data-value.
import { $, panelStatus, presetControls, reportLine, type PanelStatus } from './panel';
import { renderTrainingChart, SERIES_COLORS } from './train-chart';
import { DELTA, MNIST_ASSET, TRAIN_IMAGES, type RoundUpdate, type TrainConfig, type TrainMessage, type TrainRequest, type TrainSetup } from './train-protocol';

/** URL parameter -> control id. */
const PRESETS = [
  ['epsilon', 'epsilon'],
  ['rounds', 'rounds'],
  ['clients', 'clients'],
  ['perRound', 'per-round'],
  ['dropout', 'dropout'],
  ['seed', 'seed'],
] as const;

const sum = (values: number[]) => values.reduce((s, v) => s + v, 0);
const mean = (values: number[]) => sum(values) / Math.max(1, values.length);

export function setupTraining(params: URLSearchParams): void {
  const section = $<HTMLElement>('#training');
  const form = $<HTMLFormElement>('#train-form');
  const input = (id: string) => $<HTMLInputElement>(`#${id}`);
  const secagg = input('secagg');
  const startButton = $<HTMLButtonElement>('#train');
  const stopButton = $<HTMLButtonElement>('#stop');
  const progress = $<HTMLParagraphElement>('#train-progress');
  const chart = $<SVGSVGElement>('#train-chart');
  const report = $<HTMLDListElement>('#train-report');
  const setStatus = panelStatus(section, form, progress, startButton, stopButton);

  presetControls(params, PRESETS);
  if (params.has('secagg')) secagg.checked = params.get('secagg') !== '0';
  $('#train-legend').replaceChildren(
    ...(
      [
        ['accuracy', 'test accuracy (left axis)'],
        ['epsilon', `epsilon at delta ${DELTA.toExponential()} (right axis; dashed: target)`],
      ] as const
    ).map(([series, label]) => {
      const item = document.createElement('span');
      item.innerHTML = `<i style="background:${SERIES_COLORS[series]}"></i>`;
      item.append(label);
      return item;
    }),
  );
  renderTrainingChart(chart, [], 1, 1);

  const perRound = input('per-round');
  const checkPerRound = () =>
    perRound.setCustomValidity(Number(perRound.value) > Number(input('clients').value) ? `at most the number of clients (${input('clients').value})` : '');
  for (const id of ['clients', 'per-round']) input(id).addEventListener('input', checkPerRound);

  function readConfig(): TrainConfig {
    const config: TrainConfig = {
      epsilon: Number(input('epsilon').value),
      rounds: Number(input('rounds').value),
      clients: Number(input('clients').value),
      clientsPerRound: Number(perRound.value),
      secureAggregation: secagg.checked,
      dropoutRate: Number(input('dropout').value),
    };
    if (input('seed').value !== '') config.seed = Number(input('seed').value);
    return config;
  }

  function renderReport(config: TrainConfig, setup: TrainSetup, rounds: RoundUpdate[], totalMs: number): void {
    const last = rounds[rounds.length - 1]!;
    const included = rounds.map((r) => r.included);
    const lost = sum(rounds.map((r) => r.lost));
    const [fewest, most] = [Math.floor(TRAIN_IMAGES / config.clients), Math.ceil(TRAIN_IMAGES / config.clients)];
    const recovered = sum(rounds.map((r) => r.recovered));
    const lines = [
      reportLine('accuracy', 'Test accuracy', `${(100 * last.accuracy).toFixed(1)}% on 500 held-out digits`, last.accuracy),
      reportLine(
        'epsilon',
        'Privacy',
        `epsilon ${last.epsilon.toFixed(3)} at delta ${DELTA.toExponential()} (target ${config.epsilon}); noise multiplier ${setup.noiseMultiplier.toFixed(3)}, clip ${setup.clipNorm}`,
        last.epsilon,
      ),
      reportLine(
        'aggregation',
        'Aggregation',
        setup.secure === undefined
          ? 'central DP: the server sums the clipped updates and adds Gaussian noise'
          : `secure aggregation: SecAgg+ (${setup.secure.neighbours} neighbours) summing mod 2^${setup.secure.bits}, distributed discrete Gaussian (local sigma ${setup.secure.localSigma.toFixed(1)} units)`,
        setup.secure === undefined ? 'central' : 'secure',
      ),
      reportLine(
        'included',
        'Clients per round',
        `${config.clients} clients of ${fewest === most ? fewest : `${fewest}-${most}`} digits; per round ${mean(rounds.map((r) => r.sampled)).toFixed(1)} sampled and ${mean(included).toFixed(1)} in the sum on average (fewest ${Math.min(...included)})`,
        Math.min(...included),
      ),
      reportLine(
        'dropouts',
        'Dropouts survived',
        setup.secure === undefined
          ? `${lost} sampled clients did not report`
          : `${lost + recovered} clients (${lost} before sending their masked input, ${recovered} after it and recovered); every round unmasked`,
        lost + recovered,
      ),
      reportLine('roundMs', 'Round', `${mean(rounds.map((r) => r.roundMs)).toFixed(0)} ms on average (local training, aggregation, evaluation)`, mean(rounds.map((r) => r.roundMs))),
    ];
    const secure = rounds.filter((r) => r.clientMs !== undefined);
    if (secure.length > 0) {
      const clientMs = mean(secure.map((r) => r.clientMs!));
      const protocolMs = mean(secure.map((r) => r.protocolMs!));
      lines.push(
        reportLine('clientMs', 'Client work', `${clientMs.toFixed(1)} ms per round (rotate, quantize, add noise)`, clientMs),
        reportLine('protocolMs', 'Protocol', `${protocolMs.toFixed(0)} ms per round (key agreement, Shamir shares, masked inputs, unmasking)`, protocolMs),
      );
    }
    lines.push(
      reportLine(
        'wallTime',
        'Wall time',
        `${(totalMs / 1000).toFixed(1)} s for ${rounds.length} rounds, ${setup.threads} pool workers (${setup.sharedMemory ? 'shared memory' : 'copies: not cross-origin isolated'}), ${setup.paramCount} parameters`,
        totalMs,
      ),
      reportLine(
        'randomness',
        'Randomness',
        config.seed === undefined ? 'CSPRNG' : `seed ${config.seed}: a reproducible simulation (seeded noise protects nothing)`,
        config.seed ?? '',
      ),
    );
    report.replaceChildren(...lines.flat());
  }

  function start(): void {
    checkPerRound();
    if (!form.reportValidity()) {
      setStatus('error', 'Check the settings: some are out of range.');
      return;
    }
    const config = readConfig();
    const rounds: RoundUpdate[] = [];
    let setup: TrainSetup | undefined;
    report.replaceChildren();
    renderTrainingChart(chart, rounds, config.rounds, config.epsilon);
    setStatus('running', 'Starting the training worker...');
    const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
    const finish = (status: PanelStatus, text: string) => {
      worker.terminate();
      setStatus(status, text);
    };
    worker.addEventListener('message', (event: MessageEvent<TrainMessage>) => {
      const message = event.data;
      switch (message.type) {
        case 'progress':
          progress.textContent = message.text;
          break;
        case 'setup':
          setup = message.setup;
          progress.textContent = `Noise multiplier ${setup.noiseMultiplier.toFixed(3)} (epsilon ${config.epsilon} after ${config.rounds} rounds); training...`;
          break;
        case 'round': {
          const r = message.round;
          rounds.push(r);
          renderTrainingChart(chart, rounds, config.rounds, config.epsilon);
          const recovered = r.recovered > 0 ? ` (${r.recovered} recovered)` : '';
          progress.textContent =
            `Round ${r.round} of ${config.rounds}: test accuracy ${(100 * r.accuracy).toFixed(1)}%, epsilon ${r.epsilon.toFixed(3)} of ${config.epsilon}; ` +
            `${r.sampled} clients sampled, ${r.included} in the sum, ${r.lost + r.recovered} dropped out${recovered}.`;
          break;
        }
        case 'done':
          renderReport(config, setup!, rounds, message.totalMs);
          finish('done', `Done: ${rounds.length} rounds in ${(message.totalMs / 1000).toFixed(1)} s.`);
          break;
        case 'error':
          finish('error', `Failed: ${message.message}`);
          break;
      }
    });
    worker.addEventListener('error', (event) => finish('error', `The training worker failed: ${event.message || 'could not load'}`));
    const request: TrainRequest = { type: 'train', config, dataUrl: new URL(MNIST_ASSET, document.baseURI).href };
    worker.postMessage(request);
    stopButton.onclick = () => finish('idle', `Stopped after ${rounds.length} rounds.`);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    start();
  });
  if (params.has('train')) start();
}
