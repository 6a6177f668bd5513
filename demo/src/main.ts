// The demo page: picks a size, starts a benchmark worker and renders its results as they arrive.
// `?autorun` runs on load; `?size=64x16384` preselects a size. document.body.dataset.status is
// 'idle' | 'running' | 'done' | 'error' (the end-to-end test waits on it). The federated training
// panel is train-panel.ts (`?train`).
import { IMPL_COLORS, renderChart } from './chart';
import { DEFAULT_SIZE, IMPL_LABELS, IMPLS, KERNELS, SIZES, type ResultRow, type WorkerMessage } from './protocol';
import { setupTraining } from './train-panel';

const $ = <T extends Element>(selector: string) => document.querySelector<T>(selector)!;
const params = new URLSearchParams(location.search);

const sizeSelect = $<HTMLSelectElement>('#size');
const runButton = $<HTMLButtonElement>('#run');
const statusText = $<HTMLSpanElement>('#status');
const tableBody = $<HTMLTableSectionElement>('#results tbody');
const chart = $<SVGSVGElement>('#chart');

function showEnvironment(): void {
  const isolated = self.crossOriginIsolated === true;
  const badge = $<HTMLSpanElement>('#isolation');
  badge.textContent = isolated ? 'yes' : 'no';
  badge.className = `badge ${isolated ? 'ok' : 'warn'}`;
  $('#isolation-note').textContent = isolated
    ? 'SharedArrayBuffer is available: the pool shares the input with its workers without copying.'
    : 'SharedArrayBuffer is unavailable (serve the page with COOP: same-origin and COEP: require-corp); the pool row is skipped.';
  $('#cores').textContent = String(navigator.hardwareConcurrency ?? '?');
  $('#agent').textContent = browserName(navigator.userAgent);
  $('#legend').replaceChildren(
    ...IMPLS.map((impl) => {
      const item = document.createElement('span');
      item.innerHTML = `<i style="background:${IMPL_COLORS[impl]}"></i>`;
      item.append(IMPL_LABELS[impl]);
      return item;
    }),
  );
}

/** A short browser name and major version from the user agent string (most specific token first). */
function browserName(agent: string): string {
  for (const [pattern, name] of [
    [/Edg\/(\d+)/, 'Edge'],
    [/OPR\/(\d+)/, 'Opera'],
    [/Firefox\/(\d+)/, 'Firefox'],
    [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
    [/Chrom(?:e|ium)\/(\d+)/, 'Chrome'],
    [/Version\/(\d+)[\d.]* .*Safari\//, 'Safari'],
  ] as const) {
    const match = agent.match(pattern);
    if (match !== null) return `${name} ${match[1]}`;
  }
  return agent;
}

function fillSizes(): void {
  for (const size of SIZES) {
    const option = new Option(`${size.rows} x ${size.cols} (${(size.rows * size.cols * 4) / 2 ** 20} MiB)`, size.id);
    sizeSelect.append(option);
  }
  const wanted = params.get('size');
  sizeSelect.value = SIZES.some((s) => s.id === wanted) ? wanted! : DEFAULT_SIZE;
}

const format = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 1 ? value.toPrecision(3) : value.toPrecision(2));

function cell(text: string, field?: string, numeric = true): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (numeric) td.className = 'num';
  if (field !== undefined) td.dataset.field = field;
  return td;
}

function renderTable(rows: ResultRow[]): void {
  const ordered = KERNELS.flatMap((kernel) => IMPLS.flatMap((impl) => rows.filter((r) => r.kernel === kernel && r.impl === impl)));
  tableBody.replaceChildren(
    ...ordered.map((row, i) => {
      const tr = document.createElement('tr');
      tr.dataset.kernel = row.kernel;
      tr.dataset.impl = row.impl;
      if (i === 0 || ordered[i - 1]!.kernel !== row.kernel) tr.className = 'group-start';
      const js = rows.find((r) => r.kernel === row.kernel && r.impl === 'js');
      tr.append(
        cell(row.kernel, 'kernel', false),
        cell(IMPL_LABELS[row.impl], 'impl', false),
        cell(format(row.medianMs), 'medianMs'),
        cell(format(row.minMs), 'minMs'),
        cell(row.gbPerS.toFixed(2), 'gbPerS'),
        cell(js === undefined ? '' : `${(js.medianMs / row.medianMs).toFixed(1)}x`, 'speedup'),
        cell(row.maxRelDiff === undefined ? '' : row.maxRelDiff.toExponential(1), 'maxRelDiff'),
      );
      return tr;
    }),
  );
}

function setStatus(status: 'idle' | 'running' | 'done' | 'error', text: string): void {
  document.body.dataset.status = status;
  statusText.textContent = text;
  runButton.disabled = status === 'running';
  sizeSelect.disabled = status === 'running';
}

function run(): void {
  const size = SIZES.find((s) => s.id === sizeSelect.value) ?? SIZES[1];
  const rows: ResultRow[] = [];
  renderTable(rows);
  renderChart(chart, rows);
  setStatus('running', 'Starting the benchmark worker...');
  const worker = new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module' });
  const finish = (status: 'done' | 'error', text: string) => {
    worker.terminate();
    setStatus(status, text);
  };
  worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
    const message = event.data;
    switch (message.type) {
      case 'env':
        if (!message.env.poolAvailable) statusText.textContent = 'Not cross-origin isolated: skipping the pool.';
        break;
      case 'progress':
        statusText.textContent = `Measuring ${message.text}...`;
        break;
      case 'result':
        rows.push(message.row);
        renderTable(rows);
        renderChart(chart, rows);
        break;
      case 'done':
        finish('done', `Done in ${(message.totalMs / 1000).toFixed(1)} s (${size.rows} x ${size.cols} float32).`);
        break;
      case 'error':
        finish('error', `Failed: ${message.message}`);
        break;
    }
  });
  worker.addEventListener('error', (event) => finish('error', `The benchmark worker failed: ${event.message || 'could not load'}`));
  worker.postMessage({ type: 'run', rows: size.rows, cols: size.cols });
}

showEnvironment();
fillSizes();
renderChart(chart, []);
runButton.addEventListener('click', run);
if (params.has('autorun')) run();
setupTraining(params);
