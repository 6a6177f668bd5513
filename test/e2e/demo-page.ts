// Reading the demo page's benchmark tables in the end-to-end tests (demo-static.test.ts and
// ../demo.test.ts): every family's table, its groups and their rows, with the numbers each cell
// carries in data-value, and the checks every finished run must pass.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** The families and groups the page benchmarks, in page order. */
export const BENCH_GROUPS: Record<string, string[]> = {
  kernels: ['clipAndSum', 'clipByL2', 'weightedMean'],
  random: ['chacha20'],
  noise: ['gaussian', 'laplace', 'discrete-gaussian'],
  secagg: ['masks', 'quantize'],
  paillier: ['keygen', 'encrypt', 'decrypt'],
  prio: ['sumvec-shard', 'sumvec-verify', 'histogram-shard', 'histogram-verify', 'pine-l2-shard', 'pine-l2-verify', 'bounded-l2-shard', 'bounded-l2-verify'],
  accounting: ['epsilon'],
};

export interface BenchRow {
  id: string;
  kind: string;
  /** field -> data-value (measured cells) */
  values: Record<string, string | undefined>;
  result: string;
}

export interface BenchGroup {
  id: string;
  status: string;
  rows: BenchRow[];
  explanation?: string;
}

export interface BenchFamily {
  id: string;
  groups: BenchGroup[];
}

export function readBenchmark(page: Page): Promise<BenchFamily[]> {
  return page.$$eval('#bench-tables section.family', (sections) =>
    sections.map((section) => ({
      id: (section as HTMLElement).dataset.family ?? '',
      groups: [...section.querySelectorAll('tbody')].map((body) => {
        const explanation = body.querySelector('[data-field="explanation"]')?.textContent ?? undefined;
        return {
          id: body.dataset.group ?? '',
          status: body.dataset.status ?? '',
          rows: [...body.querySelectorAll('tr[data-row]')].map((tr) => ({
            id: (tr as HTMLElement).dataset.row ?? '',
            kind: (tr as HTMLElement).dataset.kind ?? '',
            values: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map((td) => [(td as HTMLElement).dataset.field!, (td as HTMLElement).dataset.value])),
            result: tr.querySelector('[data-field="result"]')?.textContent ?? '',
          })),
          ...(explanation === undefined ? {} : { explanation }),
        };
      }),
    })),
  );
}

const positive = (value: string | undefined) => value !== undefined && Number.isFinite(Number(value)) && Number(value) > 0;

/**
 * The checks of a finished run of the families `families` (default: all): every group present and
 * done, every row with a finite positive time, best time, speed-up and (where the group has one)
 * rate, a check that found no mismatch, privkit rows and a baseline in each group, and pool rows on
 * shared input only when the page has shared memory.
 */
export async function expectCompleteBenchmark(page: Page, sharedMemory: boolean, families = Object.keys(BENCH_GROUPS)): Promise<BenchFamily[]> {
  const measured = await readBenchmark(page);
  expect(measured.map((f) => f.id)).toEqual(families);
  for (const family of measured) {
    expect(family.groups.map((g) => g.id)).toEqual(BENCH_GROUPS[family.id]!.map((g) => `${family.id}/${g}`));
    for (const group of family.groups) {
      expect(group.status, group.id).toBe('done');
      expect(group.rows.some((r) => r.kind === 'privkit'), group.id).toBe(true);
      expect(group.rows.length, group.id).toBeGreaterThanOrEqual(2);
      const hasRate = group.rows.some((r) => r.values.rate !== undefined);
      for (const row of group.rows) {
        const where = `${group.id} ${row.id}`;
        for (const field of ['medianMs', 'minMs', 'speedup', ...(hasRate ? ['rate'] : [])]) {
          expect(positive(row.values[field]), `${where} ${field} = ${row.values[field]}`).toBe(true);
        }
        expect(Number(row.values.minMs), where).toBeLessThanOrEqual(Number(row.values.medianMs));
        expect(row.result, where).not.toMatch(/DIFFER|WRONG|NaN/);
        expect(row.result.length, where).toBeGreaterThan(0);
      }
    }
  }
  const kernels = measured.find((f) => f.id === 'kernels');
  for (const group of kernels?.groups ?? []) {
    // The pool runs with and without shared memory; on shared input only where the page has it.
    expect(group.rows.map((r) => r.id)).toEqual(['wasm', ...(sharedMemory ? ['pool-shared'] : []), 'pool-copy', 'js', 'copy']);
    for (const row of group.rows.filter((r) => r.id !== 'js' && r.id !== 'copy')) {
      expect(Number(row.result.match(/max rel\. diff vs JS (\S+)/)?.[1]), `${group.id} ${row.id}: ${row.result}`).toBeLessThan(1e-5);
    }
  }
  return measured;
}
