// The bad-input sweep's coverage: every export of every entry point has rows, every row is swept by
// its entry point's file, and every entry point has that file (test/errors/sweep/<name>.test.ts,
// calling sweepEntry). The sweep fails here on an export without rows.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SweepRow } from '../sweep-harness.js';
import { ENTRY_POINTS, isConstant, rowsOf, sweepFileName, type EntryPoint, type EntrySweep } from './entry-points.js';

const here = dirname(fileURLToPath(import.meta.url));
const entries = Object.keys(ENTRY_POINTS) as EntryPoint[];

/** The rows each entry point's file runs. */
async function sweptRows(): Promise<Map<EntryPoint, SweepRow[]>> {
  return new Map(await Promise.all(entries.map(async (entry) => [entry, await rowsOf(entry)] as const)));
}

describe('bad-input sweep coverage', () => {
  it('has a row for every export of every entry point', async () => {
    const swept = await sweptRows();
    const missing: string[] = [];
    for (const entry of entries) {
      const module = (await import(entry)) as Record<string, unknown>;
      for (const name of Object.keys(module)) {
        if (!swept.get(entry)!.some((row) => row.export === name)) missing.push(`${entry}#${name}`);
      }
    }
    expect(missing, 'exports without a sweep row').toEqual([]);
  });

  it('every entry point has a row that is not a constant', async () => {
    const swept = await sweptRows();
    expect(entries.filter((entry) => !swept.get(entry)!.some((row) => !isConstant(row))), 'entry points with nothing to call').toEqual([]);
  });

  it("every row in the rows modules is swept by its entry point's file", async () => {
    const swept = await sweptRows();
    const all = new Set((await Promise.all(entries.map((entry) => (ENTRY_POINTS[entry] as EntrySweep).rows()))).flat());
    const lost = [...all].filter((row) => !(swept.get(row.entry as EntryPoint) ?? []).includes(row));
    expect(lost.map((row) => `${row.entry}#${row.export}`)).toEqual([]);
  });

  it('every entry point has its sweep file and every sweep file an entry point', () => {
    const files = readdirSync(here).filter((file) => file.endsWith('.test.ts') && file !== 'coverage.test.ts');
    expect(files.sort()).toEqual(entries.map(sweepFileName).sort());
    for (const entry of entries) {
      const source = readFileSync(join(here, sweepFileName(entry)), 'utf8');
      expect(source, `${sweepFileName(entry)} must sweep ${entry}`).toContain(`sweepEntry('${entry}')`);
    }
  });

  it('constants are primitives or frozen', async () => {
    for (const row of [...(await sweptRows()).values()].flat().filter(isConstant)) {
      const value = ((await import(row.entry)) as Record<string, unknown>)[row.export];
      const frozen = typeof value !== 'object' || value === null || Object.isFrozen(value);
      expect(frozen, `${row.entry}#${row.export} is a mutable object`).toBe(true);
    }
  });
});
