// Number formats shared by the page's tables and their Markdown copy, and the values derived from
// a group's rows: throughput and the speed-up over the group's baseline row.
import type { GroupInfo, RowResult } from './protocol';

/** A duration in the unit that keeps three significant digits readable: ns, us, ms or s. */
export function formatTime(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  if (ms >= 1e-3) return `${(ms * 1e3).toPrecision(3)} µs`;
  return `${(ms * 1e6).toPrecision(3)} ns`;
}

export function formatNumber(value: number): string {
  if (value >= 1000) return Math.round(value).toLocaleString('en-US');
  return value >= 1 ? value.toPrecision(3) : value.toPrecision(2);
}

export function formatSpeedup(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio >= 1 ? ratio.toFixed(1) : ratio.toPrecision(2)}x`;
}

/** Units of the group's rate per second at the row's median time, if the group has a rate. */
export function rateOf(group: GroupInfo, row: RowResult): number | undefined {
  return group.rate === undefined ? undefined : group.rate.perCall / (row.medianMs / 1000) / group.rate.scale;
}

/** How many times faster than the group's baseline row the row is (undefined until the baseline is measured). */
export function speedupOf(group: GroupInfo, rows: readonly RowResult[], row: RowResult): number | undefined {
  const baseline = rows.find((r) => r.id === group.baseline);
  return baseline === undefined ? undefined : baseline.medianMs / row.medianMs;
}
