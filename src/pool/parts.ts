// How the pool cuts a call's rows into parts: one contiguous range per worker, as even as possible,
// the first `rows % workers` parts one row longer; no empty parts (fewer parts than workers when
// there are fewer rows).
import type { Part } from './types.js';

export function splitRows(rows: number, workers: number): Part[] {
  const n = Math.min(rows, workers);
  const parts: Part[] = [];
  for (let i = 0, row = 0; i < n; i++) {
    const count = Math.floor(rows / n) + (i < rows % n ? 1 : 0);
    parts.push({ row, rows: count });
    row += count;
  }
  return parts;
}
