// The benchmark panel of the demo page: starts the benchmark worker (bench-worker.ts) and renders
// one table per family as results arrive: a header row per group (what is timed, its input, the
// setup code), a row per implementation with the call it times, and the Markdown copy of it all.
// `?bench=quick|full` runs on load, `?size=64x16384` picks the kernels' matrix and `?only=kernels,noise`
// limits the families. document.body.dataset.status is 'idle' | 'running' | 'done' | 'error', each
// group's tbody carries data-status 'running' | 'done', and every measured cell carries its number
// in data-value (the end-to-end tests read them).
import { machine, PRIVKIT_VERSION } from './environment';
import { formatNumber, formatSpeedup, formatTime, rateOf, speedupOf } from './bench/format';
import { resultsMarkdown } from './bench/markdown';
import type { BenchMessage, BenchMode, RunRequest } from './bench/protocol';
import { record, type FamilyResults, type GroupResults, type RunResults } from './bench/results';

const $ = <T extends Element>(selector: string) => document.querySelector<T>(selector)!;

/** Matrix shapes (rows x cols of float32) of the kernels family. */
const SIZES = ['16x4096', '64x16384', '256x16384', '1024x16384'];
const DEFAULT_SIZE = '64x16384';

type Status = 'idle' | 'running' | 'done' | 'error';

function element<K extends keyof HTMLElementTagNameMap>(name: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(name), props);
  node.append(...children);
  return node;
}

/** A measured cell: its text, and its number in data-value. */
function valueCell(field: string, text: string, value: number | undefined): HTMLTableCellElement {
  const td = element('td', { className: 'num', textContent: text });
  td.dataset.field = field;
  if (value !== undefined) td.dataset.value = String(value);
  return td;
}

/** The columns of a family's table: Throughput only where some group has a rate. */
function columns(family: FamilyResults): string[] {
  const rate = family.groups.some((g) => g.info.rate !== undefined);
  return ['Implementation', 'Time per call', 'Best', ...(rate ? ['Throughput'] : []), 'Speed-up', 'Check'];
}

function groupBody(group: GroupResults, columnCount: number, withRate: boolean): HTMLTableSectionElement {
  const { info, rows } = group;
  const body = element('tbody');
  body.dataset.group = info.id;
  body.dataset.status = group.done ? 'done' : 'running';
  const baseline = rows.find((r) => r.id === info.baseline)?.label ?? 'baseline';
  const header = element(
    'th',
    { colSpan: columnCount, scope: 'rowgroup' },
    element('span', { className: 'group-title', textContent: info.title }),
    element('span', { className: 'shape', textContent: ` ${info.shape}; speed-up over ${baseline}.` }),
    element('details', {}, element('summary', { textContent: 'setup code' }), element('pre', {}, element('code', { textContent: info.setup }))),
  );
  body.append(element('tr', { className: 'group' }, header));
  for (const row of rows) {
    const tr = element('tr', { className: row.kind });
    tr.dataset.row = row.id;
    tr.dataset.kind = row.kind;
    const rate = rateOf(info, row);
    const speedup = speedupOf(info, rows, row);
    const impl = element('td', {}, element('span', { className: 'label', textContent: row.label }), element('code', { textContent: row.code }));
    impl.dataset.field = 'impl';
    const check = element('td', { className: 'check', textContent: row.result });
    check.dataset.field = 'result';
    tr.append(
      impl,
      valueCell('medianMs', formatTime(row.medianMs), row.medianMs),
      valueCell('minMs', formatTime(row.minMs), row.minMs),
      ...(withRate ? [valueCell('rate', rate === undefined ? '' : `${formatNumber(rate)} ${info.rate!.unit}`, rate)] : []),
      valueCell('speedup', speedup === undefined ? '' : row.id === info.baseline ? 'baseline' : formatSpeedup(speedup), speedup),
      check,
    );
    body.append(tr);
  }
  if (group.explanation !== undefined) {
    const note = element('td', { colSpan: columnCount, textContent: group.explanation });
    note.dataset.field = 'explanation';
    body.append(element('tr', { className: 'explain' }, note));
  }
  return body;
}

function familySection(family: FamilyResults): HTMLElement {
  const section = element('section', { className: 'family' });
  section.dataset.family = family.info.id;
  const names = columns(family);
  const table = element('table', { className: 'bench' }, element('thead', {}, element('tr', {}, ...names.map((c) => element('th', { textContent: c })))));
  table.append(...family.groups.map((group) => groupBody(group, names.length, names.includes('Throughput'))));
  section.append(element('h3', { textContent: family.info.title }), element('p', { className: 'intro', textContent: family.info.intro }), table);
  return section;
}

export function setupBenchmark(params: URLSearchParams): void {
  const sizeSelect = $<HTMLSelectElement>('#size');
  const modeSelect = $<HTMLSelectElement>('#mode');
  const runButton = $<HTMLButtonElement>('#run');
  const copyButton = $<HTMLButtonElement>('#copy');
  const statusText = $<HTMLSpanElement>('#status');
  const tables = $<HTMLDivElement>('#bench-tables');
  const markdown = $<HTMLTextAreaElement>('#markdown');

  for (const size of SIZES) {
    const [rows, cols] = size.split('x').map(Number) as [number, number];
    sizeSelect.append(new Option(`${rows} x ${cols} (${(rows * cols * 4) / 2 ** 20} MiB)`, size));
  }
  const wanted = params.get('size');
  sizeSelect.value = wanted !== null && SIZES.includes(wanted) ? wanted : DEFAULT_SIZE;
  if (params.get('bench') === 'quick') modeSelect.value = 'quick';
  const only = params.get('only')?.split(',');

  let worker: Worker | undefined;
  let results: RunResults | undefined;

  function setStatus(status: Status, text: string): void {
    document.body.dataset.status = status;
    statusText.textContent = text;
    for (const control of [runButton, sizeSelect, modeSelect]) control.disabled = status === 'running';
    copyButton.disabled = results === undefined || results.families.length === 0;
  }

  function showMarkdown(): void {
    if (results !== undefined) markdown.value = resultsMarkdown(results, machine(), PRIVKIT_VERSION);
  }

  function run(): void {
    worker?.terminate();
    const [rows, cols] = sizeSelect.value.split('x').map(Number) as [number, number];
    const mode = modeSelect.value as BenchMode;
    const current: RunResults = { mode, size: `${rows} x ${cols}`, families: [] };
    results = current;
    const sections = new Map<string, HTMLElement>();
    tables.replaceChildren();
    markdown.value = '';
    setStatus('running', 'Starting the benchmark worker...');
    const started = new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module' });
    worker = started;
    const finish = (status: Status, text: string) => {
      started.terminate();
      showMarkdown();
      setStatus(status, text);
    };
    started.addEventListener('message', (event: MessageEvent<BenchMessage>) => {
      const message = event.data;
      const family = record(current, message);
      if (family !== undefined) {
        const section = familySection(family);
        const old = sections.get(family.info.id);
        if (old === undefined) tables.append(section);
        else old.replaceWith(section);
        sections.set(family.info.id, section);
        showMarkdown();
      }
      if (message.type === 'progress') statusText.textContent = `Measuring ${message.text}...`;
      else if (message.type === 'done') finish('done', `Done in ${(message.totalMs / 1000).toFixed(1)} s (${mode} mode).`);
      else if (message.type === 'error') finish('error', `Failed: ${message.message}`);
    });
    started.addEventListener('error', (event) => finish('error', `The benchmark worker failed: ${event.message || 'could not load'}`));
    const request: RunRequest = { type: 'run', mode, rows, cols, ...(only === undefined ? {} : { only }) };
    started.postMessage(request);
  }

  async function copy(): Promise<void> {
    showMarkdown();
    try {
      await navigator.clipboard.writeText(markdown.value);
      copyButton.textContent = 'Copied';
    } catch {
      // No clipboard permission (e.g. an insecure origin): select the text for the visitor to copy.
      markdown.closest('details')!.open = true;
      markdown.select();
      copyButton.textContent = 'Selected below: press Ctrl+C';
    }
    setTimeout(() => (copyButton.textContent = 'Copy results as Markdown'), 2000);
  }

  runButton.addEventListener('click', run);
  copyButton.addEventListener('click', () => void copy());
  setStatus('idle', 'Ready.');
  if (params.has('bench')) run();
}
