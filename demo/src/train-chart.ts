// The training chart in plain SVG: test accuracy (left axis, %) and the running epsilon (right
// axis, with the target as a dashed line) after each round, over the run's rounds.
import { el, tickStep } from './svg';
import type { RoundUpdate } from './train-protocol';

export const SERIES_COLORS = { accuracy: '#2563eb', epsilon: '#dc2626' } as const;

const WIDTH = 760;
const HEIGHT = 280;
const LEFT = 52;
const RIGHT = 52;
const TOP = 14;
const BOTTOM = 44;

export function renderTrainingChart(svg: SVGSVGElement, rounds: RoundUpdate[], totalRounds: number, targetEpsilon: number): void {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Test accuracy and epsilon after each round');
  const bottom = HEIGHT - BOTTOM;
  const right = WIDTH - RIGHT;
  if (rounds.length === 0) {
    svg.append(el('text', { x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle', class: 'empty' }, 'Press Start to train.'));
    return;
  }

  const x = (round: number) => LEFT + (round / totalRounds) * (right - LEFT);
  const yAccuracy = (accuracy: number) => bottom - accuracy * (bottom - TOP);
  const epsilonTop = Math.max(targetEpsilon, ...rounds.map((r) => r.epsilon));
  const epsilonStep = tickStep(epsilonTop, 4);
  const epsilonMax = Math.ceil(epsilonTop / epsilonStep) * epsilonStep;
  const yEpsilon = (epsilon: number) => bottom - (epsilon / epsilonMax) * (bottom - TOP);

  for (let percent = 0; percent <= 100; percent += 20) {
    const y = yAccuracy(percent / 100);
    svg.append(el('line', { x1: LEFT, x2: right, y1: y, y2: y, class: 'grid' }));
    svg.append(el('text', { x: LEFT - 8, y: y + 4, 'text-anchor': 'end', class: 'tick' }, `${percent}%`));
  }
  for (let tick = 0; tick <= epsilonMax + epsilonStep / 2; tick += epsilonStep) {
    svg.append(el('text', { x: right + 8, y: yEpsilon(tick) + 4, class: 'tick' }, `${+tick.toPrecision(6)}`));
  }
  const roundStep = tickStep(totalRounds, 6);
  for (let round = 0; round <= totalRounds; round += roundStep) {
    svg.append(el('text', { x: x(round), y: bottom + 16, 'text-anchor': 'middle', class: 'tick' }, String(round)));
  }
  svg.append(el('text', { x: (LEFT + right) / 2, y: HEIGHT - 6, 'text-anchor': 'middle', class: 'axis-label' }, 'round'));
  svg.append(
    el('line', { x1: LEFT, x2: right, y1: yEpsilon(targetEpsilon), y2: yEpsilon(targetEpsilon), stroke: SERIES_COLORS.epsilon, class: 'target' }),
  );

  for (const [series, y] of [
    ['accuracy', (r: RoundUpdate) => yAccuracy(r.accuracy)],
    ['epsilon', (r: RoundUpdate) => yEpsilon(r.epsilon)],
  ] as const) {
    const points = rounds.map((r) => `${x(r.round).toFixed(1)},${y(r).toFixed(1)}`).join(' ');
    svg.append(el('polyline', { points, fill: 'none', stroke: SERIES_COLORS[series], class: 'series', 'data-series': series }));
  }
}
