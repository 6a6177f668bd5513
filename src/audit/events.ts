// The event search of the black-box auditor. Given outputs of a mechanism on two neighbouring
// inputs, split into a selection half and an estimation half, it chooses on the selection half the
// event E (and the input it favours) that promises the largest lower bound
// log((P[E | favoured] - delta) / P[E | other]), then counts E on the estimation half only, so the
// confidence interval of the final estimate is honest (a single event, chosen independently of the
// samples it is tested on).
//
// Candidate events, each a function of one output:
// - threshold events {s >= t} and {s < t} on a real statistic s of the output, and
//   likelihood-ratio events: unions of the histogram bins of s in decreasing order of their
//   estimated ratio (an empirical version of the Neyman-Pearson test {p_a(s) / p_b(s) > c});
// - the statistics: the output itself (scalars), its coordinates (short vectors), its projection on
//   the difference of the mean outputs (vectors), and the exponent of its lowest set bit (the
//   floating-point granularity of the output: Mironov 2012 shows that naive floating-point noise
//   leaves input-dependent gaps in the set of reachable doubles, which this statistic exposes);
// - the support event: the output is one of the exact values seen from one input and never from
//   the other in the selection half (catches noise with a small seed space, whose outputs repeat,
//   and any input-dependent support).
import type { Samples } from './sampling.js';

/** Outputs of one half of the trials: n rows of `dimension` values per input. */
export interface Half {
  n: number;
  a: Float64Array;
  b: Float64Array;
}

/** A candidate event, chosen on the selection half. */
interface ChosenEvent {
  /** What the event tests, in words. */
  description: string;
  /** The input the event favours: 0 for inputs[0], 1 for inputs[1]. */
  favours: 0 | 1;
  /** The lower bound the selection half predicts for the estimation half. */
  predicted: number;
  /** How many rows of each input of `half` fall in the event: [inputs[0], inputs[1]]. */
  count(half: Half): [number, number];
}

/**
 * Scores a candidate: the lower bound predicted when `favoured` of `rows` outputs of one input and
 * `other` of `rows` of the other fall in it (rows: the selection half's n unless given).
 */
type Ranking = (favoured: number, other: number, rows?: number) => number;

/** Most bins of a statistic's histogram; at most this many distinct values become bins one each. */
const MAX_DISTINCT_BINS = 2048;
/** Uniform quantile levels of the cut points (plus geometrically finer levels in both tails). */
const QUANTILE_LEVELS = 512;
/** Cut points come from at most this many pooled values. */
const MAX_POOLED = 2 ** 20;
/** Most coordinates examined one by one. */
const MAX_COORDINATES = 8;
/** Exponent given to the lowest set bit of 0 (above every double's). */
const ZERO_BIT = 1024;

/** Even trials select the event, odd trials estimate it (interleaved: any drift affects both halves alike). */
export function splitHalves(samples: Samples): { selection: Half; estimation: Half } {
  const n = Math.floor(samples.trials / 2);
  const d = samples.dimension;
  const take = (source: Float64Array, parity: number): Float64Array => {
    const out = new Float64Array(n * d);
    for (let t = 0; t < n; t++) out.set(source.subarray((2 * t + parity) * d, (2 * t + parity + 1) * d), t * d);
    return out;
  };
  return {
    selection: { n, a: take(samples.a, 0), b: take(samples.b, 0) },
    estimation: { n, a: take(samples.a, 1), b: take(samples.b, 1) },
  };
}

/** The most promising event on the selection half over every statistic and event family. */
export function chooseEvent(selection: Half, dimension: number, rank: Ranking): ChosenEvent {
  let best: ChosenEvent | undefined;
  const offer = (candidate: ChosenEvent | undefined) => {
    if (candidate !== undefined && (best === undefined || candidate.predicted > best.predicted)) best = candidate;
  };
  for (const statistic of statistics(selection, dimension)) offer(histogramEvent(statistic, selection, rank));
  offer(supportEvent(selection, dimension, rank));
  // e.g. a constant mechanism: nothing separates the inputs
  return best ?? { description: 'any output (no event separates the inputs)', favours: 0, predicted: Number.NEGATIVE_INFINITY, count: (half) => [half.n, half.n] };
}

// ---------------------------------------------------------------------------------------------
// Statistics of an output row

interface Statistic {
  name: string;
  format(value: number): string;
  /** The statistic of each of the n rows. */
  apply(rows: Float64Array, n: number): Float64Array;
}

function statistics(selection: Half, dimension: number): Statistic[] {
  const plain = (value: number) => String(Number(value.toPrecision(7)));
  const list: Statistic[] = [];
  if (dimension === 1) {
    list.push({ name: 'output', format: plain, apply: (rows) => rows });
  } else {
    const direction = meanDifference(selection, dimension);
    if (direction !== undefined) {
      list.push({
        name: 'projection of the output on the difference of the mean outputs',
        format: plain,
        apply: (rows, n) => reduceRows(rows, n, dimension, 0, (sum, v, j) => sum + v * direction[j]!),
      });
    }
    if (dimension <= MAX_COORDINATES) {
      for (let j = 0; j < dimension; j++) {
        list.push({ name: `output[${j}]`, format: plain, apply: (rows, n) => Float64Array.from({ length: n }, (_, t) => rows[t * dimension + j]!) });
      }
    }
  }
  list.push({
    name: 'lowest set bit of the output',
    format: (value) => `2^${value}`,
    apply: (rows, n) => reduceRows(rows, n, dimension, ZERO_BIT, (low, v) => Math.min(low, lowestSetBit(v))),
  });
  return list;
}

/** The unit vector along mean(inputs[0] rows) - mean(inputs[1] rows), or undefined when they coincide. */
function meanDifference(half: Half, dimension: number): Float64Array | undefined {
  const w = new Float64Array(dimension);
  for (let i = 0; i < half.n * dimension; i++) w[i % dimension] += half.a[i]! - half.b[i]!;
  const norm = Math.sqrt(w.reduce((sum, v) => sum + v * v, 0));
  if (!(norm > 0)) return undefined;
  return w.map((v) => v / norm);
}

/** For each of the n rows, f folded over its values (with their column index) from `initial`. */
function reduceRows(rows: Float64Array, n: number, dimension: number, initial: number, f: (acc: number, v: number, j: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let t = 0, i = 0; t < n; t++) {
    let acc = initial;
    for (let j = 0; j < dimension; j++) acc = f(acc, rows[i++]!, j);
    out[t] = acc;
  }
  return out;
}

const bitsView = new DataView(new ArrayBuffer(8));

/** The exponent e of the lowest set bit of a double: v is an odd multiple of 2^e (ZERO_BIT for 0). */
function lowestSetBit(v: number): number {
  if (v === 0) return ZERO_BIT;
  bitsView.setFloat64(0, v);
  const high = bitsView.getUint32(0);
  const low = bitsView.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  const mantissaHigh = (high & 0xfffff) | (biased === 0 ? 0 : 0x100000); // the implicit 1 of normal numbers
  const unit = biased === 0 ? -1074 : biased - 1075; // exponent of the mantissa's last bit
  if (low !== 0) return unit + trailingZeros(low);
  return unit + 32 + trailingZeros(mantissaHigh);
}

function trailingZeros(word: number): number {
  return 31 - Math.clz32(word & -word);
}

// ---------------------------------------------------------------------------------------------
// Threshold and likelihood-ratio events on one statistic

function histogramEvent(statistic: Statistic, selection: Half, rank: Ranking): ChosenEvent | undefined {
  const n = selection.n;
  const sa = statistic.apply(selection.a, n);
  const sb = statistic.apply(selection.b, n);
  const edges = cutPoints(sa, sb);
  if (edges.length === 0) return undefined;
  const bins = edges.length + 1;
  // counts on the two halves of the selection rows (see the likelihood-ratio events) and in total
  const h = Math.floor(n / 2);
  const ca1 = binCounts(sa.subarray(0, h), edges);
  const cb1 = binCounts(sb.subarray(0, h), edges);
  const ca2 = binCounts(sa.subarray(h), edges);
  const cb2 = binCounts(sb.subarray(h), edges);
  const ca = ca1.map((c, i) => c + ca2[i]!);
  const cb = cb1.map((c, i) => c + cb2[i]!);

  let best: { predicted: number; favours: 0 | 1; bins: () => Uint8Array; description: string } | undefined;
  const consider = (inA: number, inB: number, bins: () => Uint8Array, description: string, rows = n) => {
    for (const favours of [0, 1] as const) {
      const predicted = favours === 0 ? rank(inA, inB, rows) : rank(inB, inA, rows);
      if (best === undefined || predicted > best.predicted) best = { predicted, favours, bins, description };
    }
  };

  // {s < edges[j - 1]} = bins 0..j-1 and its complement {s >= edges[j - 1]}
  let belowA = 0;
  let belowB = 0;
  for (let j = 1; j < bins; j++) {
    belowA += ca[j - 1]!;
    belowB += cb[j - 1]!;
    const cut = statistic.format(edges[j - 1]!);
    consider(belowA, belowB, () => range(bins, 0, j), `${statistic.name} < ${cut}`);
    consider(n - belowA, n - belowB, () => range(bins, j, bins), `${statistic.name} >= ${cut}`);
  }

  // Unions of the bins with the largest ratio of counts (for favouring inputs[1], the smallest).
  // The order comes from the first half of the selection rows and the counts from the second, so
  // that lucky bins do not inflate the prediction; it is made for those n - h rows, which also
  // penalizes these many-parameter events against the thresholds.
  const order = Array.from({ length: bins }, (_, i) => i).sort((i, j) => (ca1[j]! + 0.5) * (cb1[i]! + 0.5) - (ca1[i]! + 0.5) * (cb1[j]! + 0.5));
  for (const reversed of [false, true]) {
    const sequence = reversed ? order.slice().reverse() : order;
    let inA = 0;
    let inB = 0;
    for (let k = 1; k < bins; k++) {
      inA += ca2[sequence[k - 1]!]!;
      inB += cb2[sequence[k - 1]!]!;
      const chosen = () => {
        const mask = new Uint8Array(bins);
        for (let i = 0; i < k; i++) mask[sequence[i]!] = 1;
        return mask;
      };
      consider(inA, inB, chosen, `${statistic.name} in ${k} of ${bins} intervals chosen by likelihood ratio`, n - h);
    }
  }
  if (best === undefined) return undefined;
  const mask = best.bins();
  return {
    description: best.description,
    favours: best.favours,
    predicted: best.predicted,
    count: (half) => [countInBins(statistic.apply(half.a, half.n), edges, mask), countInBins(statistic.apply(half.b, half.n), edges, mask)],
  };
}

function range(length: number, from: number, to: number): Uint8Array {
  const mask = new Uint8Array(length);
  mask.fill(1, from, to);
  return mask;
}

/**
 * Cut points of the pooled values: every distinct value when there are few, otherwise the values
 * at 511 uniform quantile levels and at levels shrinking geometrically (by 1.5) into both tails.
 */
function cutPoints(sa: Float64Array, sb: Float64Array): Float64Array {
  // quantiles of at most MAX_POOLED values (an evenly strided subsample) are precise enough
  const stride = Math.max(1, Math.ceil((sa.length + sb.length) / MAX_POOLED));
  const pooled = Float64Array.from({ length: Math.floor(sa.length / stride) + Math.floor(sb.length / stride) }, (_, i) => {
    const half = Math.floor(sa.length / stride);
    return i < half ? sa[i * stride]! : sb[(i - half) * stride]!;
  });
  pooled.sort();
  const distinct = unique(pooled);
  if (distinct.length <= MAX_DISTINCT_BINS) return distinct.subarray(1); // "s < minimum" is empty
  const levels: number[] = [];
  for (let k = 1; k < QUANTILE_LEVELS; k++) levels.push(k / QUANTILE_LEVELS);
  for (let level = 1 / QUANTILE_LEVELS; level * pooled.length > 4; ) {
    level /= 1.5;
    levels.push(level, 1 - level);
  }
  const cuts = Float64Array.from(levels, (level) => pooled[Math.min(pooled.length - 1, Math.floor(level * pooled.length))]!);
  cuts.sort();
  return unique(cuts).filter((v) => v > pooled[0]!);
}

/** The distinct values of a sorted array. */
function unique(sorted: Float64Array): Float64Array {
  let count = 0;
  const out = new Float64Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) out[count++] = sorted[i]!;
  return out.subarray(0, count);
}

/** The bin of v: how many edges are <= v (bin 0 is below every edge). */
function binOf(v: number, edges: Float64Array): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function binCounts(values: Float64Array, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (const v of values) counts[binOf(v, edges)]!++;
  return counts;
}

function countInBins(values: Float64Array, edges: Float64Array, mask: Uint8Array): number {
  let count = 0;
  for (const v of values) count += mask[binOf(v, edges)]!;
  return count;
}

// ---------------------------------------------------------------------------------------------
// The support event: exact values seen from one input only

function supportEvent(selection: Half, dimension: number, rank: Ranking): ChosenEvent | undefined {
  const n = selection.n;
  const ka = keys(selection.a, n, dimension);
  const kb = keys(selection.b, n, dimension);
  // Predict from a split of the selection half: values seen in its first h rows, hits in the other
  // n - h. The final set is built from twice as many rows, so it catches about twice as many.
  const h = Math.floor(n / 2);
  const firstA = sortedUnique(ka.subarray(0, h));
  const firstB = sortedUnique(kb.subarray(0, h));
  const secondA = sorted(ka.subarray(h));
  const secondB = sorted(kb.subarray(h));
  let best: { predicted: number; favours: 0 | 1 } | undefined;
  for (const favours of [0, 1] as const) {
    const only = favours === 0 ? difference(firstA, firstB) : difference(firstB, firstA);
    const hitsA = 2 * countSortedMembers(secondA, only);
    const hitsB = 2 * countSortedMembers(secondB, only);
    const predicted = favours === 0 ? rank(hitsA, hitsB, n - h) : rank(hitsB, hitsA, n - h);
    if (predicted > (best?.predicted ?? Number.NEGATIVE_INFINITY)) best = { predicted, favours };
  }
  if (best === undefined) return undefined;
  const { favours } = best;
  const [own, other] = favours === 0 ? [ka, kb] : [kb, ka];
  const set = difference(sortedUnique(own), sortedUnique(other));
  return {
    description: `output is one of the ${set.length} exact values seen from inputs[${favours}] and never from inputs[${1 - favours}] in the selection half`,
    favours,
    predicted: best.predicted,
    count: (half) => [
      countSortedMembers(sorted(keys(half.a, half.n, dimension)), set),
      countSortedMembers(sorted(keys(half.b, half.n, dimension)), set),
    ],
  };
}

/** One number per row identifying its exact bits: the value itself for scalars, a 52-bit hash of the bits for vectors. */
function keys(rows: Float64Array, n: number, dimension: number): Float64Array {
  if (dimension === 1) return rows.subarray(0, n);
  const words = new Uint32Array(rows.buffer, rows.byteOffset, n * dimension * 2);
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let i = 2 * t * dimension; i < 2 * (t + 1) * dimension; i++) {
      h1 = Math.imul(h1 ^ words[i]!, 0x01000193);
      h2 = Math.imul(h2 ^ words[i]!, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    out[t] = (h1 >>> 12) * 2 ** 32 + (h2 >>> 0);
  }
  return out;
}

function sorted(values: Float64Array): Float64Array {
  return Float64Array.from(values).sort();
}

function sortedUnique(values: Float64Array): Float64Array {
  return unique(sorted(values));
}

/** The values of sorted `x` that are not in sorted `y`. */
function difference(x: Float64Array, y: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  let count = 0;
  let j = 0;
  for (const v of x) {
    while (j < y.length && y[j]! < v) j++;
    if (!(j < y.length && y[j] === v)) out[count++] = v;
  }
  return out.subarray(0, count);
}

/** How many of the sorted `values` are in the sorted `set` (a merge of the two lists). */
function countSortedMembers(values: Float64Array, set: Float64Array): number {
  let count = 0;
  let j = 0;
  for (const v of values) {
    while (j < set.length && set[j]! < v) j++;
    if (j < set.length && set[j] === v) count++;
  }
  return count;
}
