// Federated data: a Dataset is row-major samples (Float32Array, rows x inputs) with one byte label
// per row; splitClients deals one out to simulated clients as contiguous slices: IID when the
// samples are already shuffled, or non-IID after a stable sort by label (each client then holds one
// or two classes, the "pathological non-IID" split of McMahan et al. 2017, Sec. 3, without shards).
import { PrivkitError } from '../errors.js';
import { assertFloat32Array, assertInteger, assertOneOf, describe, readOptions } from '../validate.js';
import { checkTypedArray } from '../wasm/boundary.js';

/** Samples with their labels: row-major features and one byte label per row. */
export interface Dataset {
  /** Samples, rows x inputs, row-major. */
  images: Float32Array;
  /** One label per row. */
  labels: Uint8Array;
}

/** Options of {@link splitClients}. */
export interface SplitOptions {
  /** 'iid' (default): slices in the given order; 'label-sorted': slices after a stable sort by label. */
  partition?: 'iid' | 'label-sorted';
}

/**
 * Splits `data` into `count` clients of contiguous rows, sizes differing by at most one (the first
 * rows % count clients get one more). IID slices are views on `data` (no copy: shared memory stays
 * shared); label-sorted slices are views on one sorted copy, on the same kind of buffer.
 *
 * @throws {PrivkitError} E_ARG when data is not { images: Float32Array, labels: non-empty Uint8Array }, count is not an integer in [1, rows], or opts.partition is unknown.
 * @throws {PrivkitError} E_SHAPE when images.length is not a positive multiple of labels.length.
 */
export function splitClients(count: number, data: Dataset, opts: SplitOptions = {}): Dataset[] {
  const rows = datasetRows(data);
  const n = assertInteger('count', count, 1);
  if (n > rows) throw new PrivkitError('E_ARG', `count must be <= the number of samples (${rows}), got ${n}`, { argument: 'count' });
  const partition = assertOneOf('opts.partition', readOptions(opts, ['partition']).partition, ['iid', 'label-sorted'] as const, 'iid');
  const { images, labels } = partition === 'iid' ? data : sortByLabel(data, rows);
  const inputs = images.length / rows;
  const clients: Dataset[] = [];
  for (let k = 0, row = 0; k < n; k++) {
    const size = Math.floor(rows / n) + (k < rows % n ? 1 : 0);
    clients.push({ images: images.subarray(row * inputs, (row + size) * inputs), labels: labels.subarray(row, row + size) });
    row += size;
  }
  return clients;
}

/** Checks a dataset's arrays fit together; returns its row count. */
function datasetRows(data: unknown, name = 'data'): number {
  if (typeof data !== 'object' || data === null) throw new PrivkitError('E_ARG', `${name} must be an object, got ${describe(data)}`, { argument: name });
  const { images } = data as Dataset;
  assertFloat32Array(`${name}.images`, images);
  const labels = checkTypedArray(`${name}.labels`, (data as Dataset).labels, ['Uint8Array']);
  if (labels.length === 0) throw new PrivkitError('E_ARG', `${name}.labels must hold at least one label`, { argument: `${name}.labels` });
  if (images.length === 0 || images.length % labels.length !== 0) {
    throw new PrivkitError('E_SHAPE', `${name}.images.length (${images.length}) must be a positive multiple of labels.length (${labels.length})`, {
      argument: `${name}.images`,
    });
  }
  return labels.length;
}

function sortByLabel(data: Dataset, rows: number): Dataset {
  const inputs = data.images.length / rows;
  const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => data.labels[a]! - data.labels[b]! || a - b);
  const shared = typeof SharedArrayBuffer === 'function' && data.images.buffer instanceof SharedArrayBuffer;
  const images = shared ? new Float32Array(new SharedArrayBuffer(data.images.byteLength)) : new Float32Array(data.images.length);
  const labels = new Uint8Array(rows);
  order.forEach((from, to) => {
    images.set(data.images.subarray(from * inputs, (from + 1) * inputs), to * inputs);
    labels[to] = data.labels[from]!;
  });
  return { images, labels };
}
