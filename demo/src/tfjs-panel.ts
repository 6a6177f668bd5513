// The DP-SGD panel of the demo page: reads its controls, starts a tfjs worker (tfjs-worker.ts) and
// fills a table with every epoch as it arrives (test accuracy and epsilon spent of the private
// run, test accuracy of the non-private one, the time of each), then a short report. `?tfjs` starts
// a run on load; `?tfjsBackend=wasm|cpu`, `?tfjsEpsilon=`, `?tfjsEpochs=`, `?tfjsExamples=`,
// `?tfjsBatch=`, `?tfjsHidden=`, `?tfjsSeed=` and `?tfjsBaseline=0|1` preset the controls. The
// section's data-status is 'idle' | 'running' | 'done' | 'error' (the end-to-end test waits on it);
// table cells and report lines carry their numbers in data-value.
import { $, panelStatus, presetControls, reportLine, type PanelStatus } from './panel';
import { TFJS_BACKENDS, TFJS_RECIPE, type TfjsConfig, type TfjsEpoch, type TfjsMessage, type TfjsRequest, type TfjsSetup, type TfjsBackend } from './tfjs-protocol';
import { DELTA, MNIST_ASSET } from './train-protocol';

/** URL parameter -> control id. */
const PRESETS = [
  ['tfjsBackend', 'tfjs-backend'],
  ['tfjsEpsilon', 'tfjs-epsilon'],
  ['tfjsEpochs', 'tfjs-epochs'],
  ['tfjsExamples', 'tfjs-examples'],
  ['tfjsBatch', 'tfjs-batch'],
  ['tfjsHidden', 'tfjs-hidden'],
  ['tfjsSeed', 'tfjs-seed'],
] as const;

function cell(field: string, text: string, value?: number): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  td.dataset.field = field;
  if (value !== undefined) {
    td.dataset.value = String(value);
    td.className = 'num';
  }
  return td;
}

const percent = (accuracy: number) => `${(100 * accuracy).toFixed(1)}%`;

export function setupTfjsTraining(params: URLSearchParams): void {
  const section = $<HTMLElement>('#tfjs');
  const form = $<HTMLFormElement>('#tfjs-form');
  const control = (id: string) => $<HTMLInputElement | HTMLSelectElement>(`#${id}`);
  const baseline = $<HTMLInputElement>('#tfjs-baseline');
  const startButton = $<HTMLButtonElement>('#tfjs-train');
  const stopButton = $<HTMLButtonElement>('#tfjs-stop');
  const progress = $<HTMLParagraphElement>('#tfjs-progress');
  const body = $<HTMLTableSectionElement>('#tfjs-epochs-table tbody');
  const report = $<HTMLDListElement>('#tfjs-report');
  const setStatus = panelStatus(section, form, progress, startButton, stopButton);

  const backend = $<HTMLSelectElement>('#tfjs-backend');
  backend.replaceChildren(...TFJS_BACKENDS.map((name) => new Option(name, name)));
  presetControls(params, PRESETS);
  if (params.has('tfjsBaseline')) baseline.checked = params.get('tfjsBaseline') !== '0';

  const examples = control('tfjs-examples') as HTMLInputElement;
  const batch = control('tfjs-batch') as HTMLInputElement;
  const checkBatch = () => batch.setCustomValidity(Number(batch.value) > Number(examples.value) ? `at most the number of training digits (${examples.value})` : '');
  for (const input of [examples, batch]) input.addEventListener('input', checkBatch);

  function readConfig(): TfjsConfig {
    const number = (id: string) => Number(control(id).value);
    const config: TfjsConfig = {
      backend: backend.value as TfjsBackend,
      targetEpsilon: number('tfjs-epsilon'),
      epochs: number('tfjs-epochs'),
      examples: number('tfjs-examples'),
      batchSize: number('tfjs-batch'),
      hidden: number('tfjs-hidden'),
      baseline: baseline.checked,
    };
    if (control('tfjs-seed').value !== '') config.seed = number('tfjs-seed');
    return config;
  }

  /** The epoch's row, made on first use: epoch, private accuracy, epsilon, private time, non-private accuracy and time. */
  function row(epoch: number): HTMLTableRowElement {
    let tr = body.querySelector<HTMLTableRowElement>(`tr[data-epoch="${epoch}"]`);
    if (tr === null) {
      tr = document.createElement('tr');
      tr.dataset.epoch = String(epoch);
      tr.append(cell('epoch', String(epoch), epoch), ...['accuracy', 'epsilon', 'ms', 'baselineAccuracy', 'baselineMs'].map((field) => cell(field, '')));
      body.append(tr);
    }
    return tr;
  }

  function show(e: TfjsEpoch): void {
    const tr = row(e.epoch);
    const fill = (field: string, text: string, value: number) => tr.querySelector(`[data-field="${field}"]`)!.replaceWith(cell(field, text, value));
    if (e.run === 'private') {
      fill('accuracy', percent(e.accuracy), e.accuracy);
      fill('epsilon', e.epsilon!.toFixed(3), e.epsilon!);
      fill('ms', `${e.ms.toFixed(0)} ms`, e.ms);
    } else {
      fill('baselineAccuracy', percent(e.accuracy), e.accuracy);
      fill('baselineMs', `${e.ms.toFixed(0)} ms`, e.ms);
    }
  }

  function renderReport(config: TfjsConfig, setup: TfjsSetup, epochs: TfjsEpoch[], totalMs: number): void {
    const runs = (run: TfjsEpoch['run']) => epochs.filter((e) => e.run === run);
    const meanMs = (list: TfjsEpoch[]) => list.reduce((s, e) => s + e.ms, 0) / list.length;
    const last = runs('private').at(-1)!;
    const lines = [
      reportLine('accuracy', 'DP-SGD', `${percent(last.accuracy)} test accuracy on ${setup.testImages} held-out digits after ${config.epochs} epochs`, last.accuracy),
      reportLine(
        'epsilon',
        'Privacy',
        `epsilon ${last.epsilon!.toFixed(3)} at delta ${DELTA.toExponential()} (target ${config.targetEpsilon}, ${TFJS_RECIPE.accountant.toUpperCase()} accountant); noise multiplier ${setup.noiseMultiplier.toFixed(3)}, clip ${TFJS_RECIPE.maxGradNorm}, sampling rate ${setup.sampleRate.toFixed(4)}, ${setup.stepsPerEpoch} steps an epoch`,
        last.epsilon!,
      ),
    ];
    const plain = runs('baseline').at(-1);
    if (plain !== undefined) {
      lines.push(reportLine('baselineAccuracy', 'Without privacy', `${percent(plain.accuracy)} test accuracy (same model, initial weights and epochs)`, plain.accuracy));
    }
    const privateMs = meanMs(runs('private'));
    const timing = plain === undefined ? '' : ` (without privacy ${meanMs(runs('baseline')).toFixed(0)} ms: ${(privateMs / meanMs(runs('baseline'))).toFixed(2)}x)`;
    lines.push(
      reportLine('msPerEpoch', 'Time per epoch', `${privateMs.toFixed(0)} ms with DP-SGD${timing}`, privateMs),
      reportLine('model', 'Model', `MLP 784-${config.hidden}-10 (${TFJS_RECIPE.activation}), ${setup.paramCount} parameters, on ${config.examples} training digits`, setup.paramCount),
      reportLine('backend', 'Backend', `tfjs ${setup.backend} in a Web Worker; ${(totalMs / 1000).toFixed(1)} s in all`, setup.backend),
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
    checkBatch();
    if (!form.reportValidity()) {
      setStatus('error', 'Check the settings: some are out of range.');
      return;
    }
    const config = readConfig();
    const epochs: TfjsEpoch[] = [];
    let setup: TfjsSetup | undefined;
    body.replaceChildren();
    report.replaceChildren();
    setStatus('running', 'Starting the tfjs worker...');
    const worker = new Worker(new URL('./tfjs-worker.ts', import.meta.url), { type: 'module' });
    const finish = (status: PanelStatus, text: string) => {
      worker.terminate();
      setStatus(status, text);
    };
    worker.addEventListener('message', (event: MessageEvent<TfjsMessage>) => {
      const message = event.data;
      switch (message.type) {
        case 'progress':
          progress.textContent = message.text;
          break;
        case 'setup':
          setup = message.setup;
          progress.textContent = `Noise multiplier ${setup.noiseMultiplier.toFixed(3)} (epsilon ${config.targetEpsilon} after ${config.epochs} epochs of ${setup.stepsPerEpoch} steps); training on tfjs ${setup.backend}...`;
          break;
        case 'epoch': {
          const e = message.epoch;
          epochs.push(e);
          show(e);
          progress.textContent =
            e.run === 'private'
              ? `DP-SGD epoch ${e.epoch} of ${config.epochs}: test accuracy ${percent(e.accuracy)}, epsilon ${e.epsilon!.toFixed(3)} of ${config.targetEpsilon}.`
              : `Without privacy, epoch ${e.epoch} of ${config.epochs}: test accuracy ${percent(e.accuracy)}.`;
          break;
        }
        case 'done':
          renderReport(config, setup!, epochs, message.totalMs);
          finish('done', `Done: ${config.epochs} epochs in ${(message.totalMs / 1000).toFixed(1)} s.`);
          break;
        case 'error':
          finish('error', `Failed: ${message.message}`);
          break;
      }
    });
    worker.addEventListener('error', (event) => finish('error', `The tfjs worker failed: ${event.message || 'could not load'}`));
    const request: TfjsRequest = { type: 'train', config, dataUrl: new URL(MNIST_ASSET, document.baseURI).href };
    worker.postMessage(request);
    stopButton.onclick = () => finish('idle', `Stopped after ${epochs.filter((e) => e.run === 'private').length} private epochs.`);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    start();
  });
  if (params.has('tfjs')) start();
}
