// A grouped horizontal bar chart in plain SVG: throughput (GB/s of input, higher is better) of
// each implementation, one group per kernel. Its SVG helpers (el, tickStep) also draw the training
// chart (train-chart.ts).
import { IMPL_LABELS, IMPLS, KERNELS, type Impl, type ResultRow } from './protocol';

const SVG = 'http://www.w3.org/2000/svg';

export const IMPL_COLORS: Record<Impl, string> = {
  wasm: '#2563eb',
  pool: '#7c3aed',
  js: '#f59e0b',
  memcpy: '#9ca3af',
};

const WIDTH = 760;
const LEFT = 120;
const RIGHT = 70;
const TOP = 12;
const BAR = 18;
const BAR_GAP = 4;
const GROUP_GAP = 18;
const AXIS = 28;

export function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** "Nice" axis step (1, 2 or 5 times a power of ten) for about `count` ticks up to `max`. */
export function tickStep(max: number, count = 5): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

export function renderChart(svg: SVGSVGElement, rows: ResultRow[]): void {
  svg.replaceChildren();
  const groups = KERNELS.map((kernel) => ({
    kernel,
    bars: IMPLS.map((impl) => rows.find((r) => r.kernel === kernel && r.impl === impl)).filter((r): r is ResultRow => r !== undefined),
  })).filter((g) => g.bars.length > 0);
  const plotWidth = WIDTH - LEFT - RIGHT;
  const barsHeight = groups.reduce((h, g) => h + g.bars.length * (BAR + BAR_GAP) - BAR_GAP + GROUP_GAP, 0);
  const height = TOP + Math.max(barsHeight, 40) + AXIS;
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Throughput in GB/s per kernel and implementation');
  if (groups.length === 0) {
    svg.append(el('text', { x: WIDTH / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty' }, 'Press Run to measure.'));
    return;
  }

  const max = Math.max(...rows.map((r) => r.gbPerS));
  const step = tickStep(max);
  const axisMax = Math.ceil(max / step) * step;
  const x = (value: number) => LEFT + (value / axisMax) * plotWidth;
  const axisY = TOP + barsHeight - GROUP_GAP / 2;

  for (let tick = 0; tick <= axisMax + step / 2; tick += step) {
    svg.append(el('line', { x1: x(tick), x2: x(tick), y1: TOP, y2: axisY, class: 'grid' }));
    svg.append(el('text', { x: x(tick), y: axisY + 16, 'text-anchor': 'middle', class: 'tick' }, `${+tick.toPrecision(6)}`));
  }
  svg.append(el('text', { x: LEFT + plotWidth / 2, y: axisY + AXIS + 2, 'text-anchor': 'middle', class: 'axis-label' }, 'GB/s of input (higher is better)'));

  let y = TOP;
  for (const group of groups) {
    const groupHeight = group.bars.length * (BAR + BAR_GAP) - BAR_GAP;
    svg.append(el('text', { x: LEFT - 10, y: y + groupHeight / 2 + 5, 'text-anchor': 'end', class: 'kernel' }, group.kernel));
    for (const row of group.bars) {
      const bar = el('rect', {
        x: LEFT,
        y,
        width: Math.max(1, x(row.gbPerS) - LEFT),
        height: BAR,
        fill: IMPL_COLORS[row.impl],
        class: 'bar',
        'data-kernel': row.kernel,
        'data-impl': row.impl,
      });
      bar.append(el('title', {}, `${row.kernel}, ${IMPL_LABELS[row.impl]}: ${row.gbPerS.toFixed(2)} GB/s`));
      svg.append(bar);
      svg.append(el('text', { x: x(row.gbPerS) + 6, y: y + BAR - 5, class: 'value' }, row.gbPerS.toFixed(2)));
      y += BAR + BAR_GAP;
    }
    y += GROUP_GAP - BAR_GAP;
  }
}
