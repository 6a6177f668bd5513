// The join panel of the demo page: this tab as one real client of a running privkit/server task.
// It reads the server's URL, the task id, the token the server issued and this client's settings,
// starts a client worker (join-worker.ts) and shows the session live from the client's events: the
// connection, the round and this client's phase in it (checked in, sampled and training, each
// SecAgg+ phase, uploaded), the epsilon spent so far and the withheld rounds, a table row for every
// round result the server broadcasts, and the PrivkitError code of an error that ends the session.
// The section's data-status is 'idle' | 'running' | 'done' | 'error' (the end-to-end test waits on
// it); state lines and table cells carry their numbers in data-value.
import type { ClientEvent, RoundResult } from 'privkit/client';
import type { JoinConfig, JoinMessage, JoinRequest } from './join-protocol';
import { $, panelStatus, reportLine } from './panel';
import { MNIST_ASSET } from './train-protocol';

/** The message a client sends in each SecAgg+ phase, in protocol order. */
const SECAGG_STEPS = ['advertise-keys', 'share-keys', 'masked-input', 'consistency-signature', 'unmasking'] as const;
const SECAGG_LABELS: Record<(typeof SECAGG_STEPS)[number], string> = {
  'advertise-keys': 'keys advertised',
  'share-keys': 'encrypted key shares sent',
  'masked-input': 'masked input sent',
  'consistency-signature': 'survivor set signed',
  unmasking: 'unmasking shares sent',
};

/** What the panel knows of the session, from the client's events and round results. */
interface SessionView {
  connection: string;
  clientId?: string;
  aggregator?: string;
  round?: number;
  phase: string;
  /** This client's part in each round: 'training', 'uploaded' or a refusal's code. */
  part: Map<number, string>;
  results: RoundResult[];
  error?: { code?: string; message: string };
}

const formatEpsilon = (epsilon: number) => (Number.isFinite(epsilon) ? epsilon.toFixed(3) : 'unbounded');

function cell(field: string, text: string, value?: number | string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  td.dataset.field = field;
  if (value !== undefined) td.dataset.value = String(value);
  if (typeof value === 'number') td.className = 'num';
  return td;
}

/** Applies one client event to the view. */
function apply(view: SessionView, event: ClientEvent): void {
  switch (event.type) {
    case 'connecting':
      view.connection = event.attempt === 1 ? 'connecting' : `reconnecting (attempt ${event.attempt})`;
      break;
    case 'welcome':
      view.connection = 'connected';
      view.clientId = event.clientId;
      view.aggregator = event.aggregator;
      view.phase = 'authenticated';
      break;
    case 'enrolled':
      view.phase = 'signing key enrolled';
      break;
    case 'checked-in':
      view.round = event.round;
      view.phase = `checked in, waiting to be sampled for round ${event.round}`;
      break;
    case 'training':
      view.round = event.round;
      view.part.set(event.round, 'training');
      view.phase = `sampled for round ${event.round}: training on this tab's digits`;
      break;
    case 'secagg':
      view.phase = `SecAgg+ phase ${SECAGG_STEPS.indexOf(event.step) + 1} of ${SECAGG_STEPS.length} of round ${event.round}: ${SECAGG_LABELS[event.step]}`;
      break;
    case 'uploaded':
      view.part.set(event.round, 'uploaded');
      // with secure aggregation the SecAgg+ phases go on (the 'secagg' events show them)
      if (view.aggregator !== 'secagg') view.phase = `update for round ${event.round} uploaded, waiting for the result`;
      break;
    case 'refused':
      view.part.set(event.round, event.code);
      view.phase = `refused round ${event.round}: ${event.message}`;
      break;
    case 'disconnected':
      view.connection = `lost (close code ${event.code}), retrying in ${(event.retryMs / 1000).toFixed(1)} s`;
      break;
  }
}

/** This client's part in a finished round, for the table. */
function partText(part: string | undefined): string {
  if (part === undefined) return 'not sampled';
  if (part === 'uploaded') return 'trained and uploaded';
  if (part === 'training') return 'sampled, did not upload';
  return `refused (${part})`;
}

export function setupJoin(): void {
  const section = $<HTMLElement>('#join');
  const form = $<HTMLFormElement>('#join-form');
  const input = (id: string) => $<HTMLInputElement>(`#${id}`);
  const startButton = $<HTMLButtonElement>('#join-start');
  const stopButton = $<HTMLButtonElement>('#join-stop');
  const progress = $<HTMLParagraphElement>('#join-progress');
  const state = $<HTMLDListElement>('#join-state');
  const rounds = $<HTMLTableSectionElement>('#join-rounds tbody');
  const setStatus = panelStatus(section, form, progress, startButton, stopButton);

  // the secure-aggregation floors go together: both or neither
  const [minParticipants, minNoise] = [input('join-min-participants'), input('join-min-noise')];
  const checkFloors = () => minNoise.setCustomValidity((minParticipants.value === '') === (minNoise.value === '') ? '' : 'give both secure-aggregation floors, or neither');
  for (const floor of [minParticipants, minNoise]) floor.addEventListener('input', checkFloors);

  function readConfig(): JoinConfig {
    const config: JoinConfig = { url: input('join-url').value.trim(), taskId: input('join-task').value.trim(), token: input('join-token').value.trim(), digits: Number(input('join-digits').value) };
    if (minParticipants.value !== '') config.minParticipants = Number(minParticipants.value);
    if (minNoise.value !== '') config.minNoiseMultiplier = Number(minNoise.value);
    return config;
  }

  function renderState(view: SessionView): void {
    const last = view.results.at(-1);
    const withheld = view.results.filter((r) => r.status !== 'released');
    const lines = [
      reportLine('connection', 'Connection', view.connection, view.connection),
      reportLine('client', 'Client', view.clientId === undefined ? '-' : `${view.clientId} (${view.aggregator === 'secagg' ? 'secure aggregation, SecAgg+' : 'central DP'})`, view.clientId ?? ''),
      reportLine('round', 'Round', view.round === undefined ? '-' : String(view.round), view.round ?? ''),
      reportLine('phase', 'Phase', view.phase, view.phase),
      reportLine('epsilon', 'Epsilon spent', last === undefined ? '-' : `${formatEpsilon(last.epsilon)} after round ${last.round} (at the task's delta)`, last?.epsilon ?? ''),
      reportLine('withheld', 'Withheld rounds', withheld.length === 0 ? 'none' : withheld.map((r) => `${r.round} (${r.status}, ${r.included} updates)`).join(', '), withheld.length),
    ];
    if (view.error !== undefined) lines.push(reportLine('error', 'Error', view.error.message, view.error.code ?? ''));
    state.replaceChildren(...lines.flat());
  }

  function addRound(result: RoundResult, part: string | undefined): void {
    const tr = document.createElement('tr');
    tr.dataset.round = String(result.round);
    tr.dataset.status = result.status;
    tr.append(
      cell('round', String(result.round), result.round),
      cell('status', result.status, result.status),
      cell('included', String(result.included), result.included),
      cell('modelVersion', String(result.modelVersion), result.modelVersion),
      cell('epsilon', formatEpsilon(result.epsilon), result.epsilon),
      cell('part', partText(part), part ?? 'not-sampled'),
    );
    rounds.append(tr);
  }

  function start(): void {
    checkFloors();
    if (!form.reportValidity()) {
      setStatus('error', 'Check the settings: some are missing or out of range.');
      return;
    }
    const config = readConfig();
    const view: SessionView = { connection: 'not connected', phase: '-', part: new Map(), results: [] };
    rounds.replaceChildren();
    renderState(view);
    setStatus('running', `Joining task ${config.taskId} on ${config.url}...`);
    const worker = new Worker(new URL('./join-worker.ts', import.meta.url), { type: 'module' });
    const finish = (status: 'idle' | 'done' | 'error', text: string) => {
      worker.terminate();
      if (status !== 'done') view.connection = 'closed';
      renderState(view);
      setStatus(status, text);
    };
    worker.addEventListener('message', (event: MessageEvent<JoinMessage>) => {
      const message = event.data;
      switch (message.type) {
        case 'progress':
          progress.textContent = message.text;
          break;
        case 'event':
          apply(view, message.event);
          if (message.event.type === 'welcome') progress.textContent = `Joined task ${config.taskId} as client ${message.event.clientId}.`;
          renderState(view);
          break;
        case 'round': {
          const { round } = message.result;
          view.results.push(message.result);
          // a client not sampled stays checked in, and one that took part checked in again: it waits for the next round
          if (view.round === undefined || view.round <= round) {
            view.round = round + 1;
            view.phase = `checked in, waiting to be sampled for round ${round + 1}`;
          }
          addRound(message.result, view.part.get(round));
          renderState(view);
          break;
        }
        case 'done':
          view.connection = 'closed by the server: the task is finished';
          view.round = view.results.at(-1)?.round;
          view.phase = '-';
          finish('done', `The task is finished: ${view.results.length} round results, this client trained in ${message.trainedRounds.length} of them.`);
          break;
        case 'error':
          view.error = { ...(message.code === undefined ? {} : { code: message.code }), message: message.message };
          finish('error', `Failed: ${message.message}`);
          break;
      }
    });
    worker.addEventListener('error', (event) => finish('error', `The client worker failed: ${event.message || 'could not load'}`));
    const request: JoinRequest = { type: 'join', config, dataUrl: new URL(MNIST_ASSET, document.baseURI).href };
    worker.postMessage(request);
    stopButton.onclick = () => finish('idle', `Left after ${view.results.length} round results.`);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    start();
  });
}
