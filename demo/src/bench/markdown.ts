// The "copy results as Markdown" text: the machine and version, then per family a heading and per
// group a line (what was timed, the baseline) and a table of its rows, with any explanation as a quote.
import type { Machine } from '../environment';
import { formatNumber, formatSpeedup, formatTime, rateOf, speedupOf } from './format';
import type { GroupResults, RunResults } from './results';

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text: string) => `\`${text.replaceAll('`', "'")}\``;

function groupMarkdown(group: GroupResults): string[] {
  const { info, rows } = group;
  const baseline = rows.find((r) => r.id === info.baseline);
  const lines = [`**${info.title}**: ${info.shape}. Speed-up over: ${baseline?.label ?? info.baseline}.`, ''];
  lines.push(`| Implementation | Call | Time per call | Best | ${info.rate === undefined ? '' : `${info.rate.unit} | `}Speed-up | Check |`);
  lines.push(`| --- | --- | ---: | ---: | ${info.rate === undefined ? '' : '---: | '}---: | --- |`);
  for (const row of rows) {
    const rate = rateOf(info, row);
    const speedup = speedupOf(info, rows, row);
    const cells = [cell(row.label), cell(code(row.code)), formatTime(row.medianMs), formatTime(row.minMs)];
    if (rate !== undefined) cells.push(formatNumber(rate));
    cells.push(speedup === undefined ? '' : row.id === info.baseline ? 'baseline' : formatSpeedup(speedup), cell(row.result));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (group.explanation !== undefined) lines.push('', `> ${group.explanation}`);
  return lines;
}

export function resultsMarkdown(results: RunResults, machine: Machine, version: string): string {
  const env = results.env;
  const lines = [
    `## privkit ${version} in the browser`,
    '',
    `${machine.browser}, ${machine.cores ?? '?'} logical cores, cross-origin isolated: ${machine.isolated ? 'yes' : 'no'} ` +
      `(pool of ${env?.poolThreads ?? '?'} workers, ${env?.sharedMemory ? 'shared memory' : 'copies: no SharedArrayBuffer'}); ` +
      `${results.mode} mode, kernels on ${results.size} float32` +
      (results.totalMs === undefined ? ' (unfinished)' : `; ${(results.totalMs / 1000).toFixed(1)} s in all`) +
      '. Time per call: median over batches of calls; Best: the fastest batch.',
  ];
  for (const family of results.families) {
    lines.push('', `### ${family.info.title}`);
    for (const group of family.groups) lines.push('', ...groupMarkdown(group));
  }
  return `${lines.join('\n')}\n`;
}
