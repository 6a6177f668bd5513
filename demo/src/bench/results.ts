// The page's record of a benchmark run, built from the worker's messages: families in order, each
// with its groups and their measured rows. The tables (bench-panel.ts) and the Markdown copy
// (markdown.ts) are both drawn from it.
import type { BenchMessage, BenchMode, Environment, FamilyInfo, GroupInfo, RowResult } from './protocol';

export interface GroupResults {
  info: GroupInfo;
  rows: RowResult[];
  done: boolean;
  explanation?: string;
}

export interface FamilyResults {
  info: FamilyInfo;
  groups: GroupResults[];
}

export interface RunResults {
  mode: BenchMode;
  /** The kernels' matrix, e.g. '64 x 16384'. */
  size: string;
  env?: Environment;
  families: FamilyResults[];
  totalMs?: number;
}

/** Adds what `message` reports to `results`; returns the family it touched, if any. */
export function record(results: RunResults, message: BenchMessage): FamilyResults | undefined {
  const familyOf = (id: string) => results.families.find((f) => f.info.id === id);
  const groupOf = (id: string) => results.families.flatMap((f) => f.groups).find((g) => g.info.id === id);
  switch (message.type) {
    case 'env':
      results.env = message.env;
      return undefined;
    case 'family': {
      const family = { info: message.family, groups: [] };
      results.families.push(family);
      return family;
    }
    case 'group': {
      const family = familyOf(message.group.family);
      family?.groups.push({ info: message.group, rows: [], done: false });
      return family;
    }
    case 'row': {
      const group = groupOf(message.row.group);
      group?.rows.push(message.row);
      return group === undefined ? undefined : familyOf(group.info.family);
    }
    case 'group-done': {
      const group = groupOf(message.group);
      if (group === undefined) return undefined;
      group.done = true;
      if (message.explanation !== undefined) group.explanation = message.explanation;
      return familyOf(group.info.family);
    }
    case 'done':
      results.totalMs = message.totalMs;
      return undefined;
    default:
      return undefined;
  }
}
