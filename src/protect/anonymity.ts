// k-anonymity (Samarati and Sweeney 1998) and l-diversity (Machanavajjhala et al. 2007) of a table:
// records with equal quasi-identifiers form an equivalence class; the table is k-anonymous when every
// class holds >= k records, and l-diverse when every class holds >= l distinct sensitive values
// (distinct l-diversity) or a sensitive-value distribution of entropy >= log l (entropy l-diversity).
//
// These are properties of one published table, not guarantees: they say nothing about linkage with
// other releases or outside data, skewed or semantically close sensitive values (t-closeness), or an
// adversary who knows some records. k-anonymity is not differential privacy.
import { PrivkitError } from '../errors.js';
import { assertInteger, describe, readOptions } from '../validate.js';
import { readArray } from '../validate-arrays.js';

/** Options of {@link anonymityReport}. */
export interface AnonymityOptions {
  /** The quasi-identifier columns (1 to 64 distinct names): what an adversary may know from elsewhere. */
  quasiIdentifiers: readonly string[];
  /** The k to check (integer >= 1). */
  k: number;
  /** The sensitive column, for the l-diversity part (give it with `l`). */
  sensitive?: string;
  /** The l to check (integer >= 1), with `sensitive`. */
  l?: number;
}

/** The l-diversity part of an {@link AnonymityReport}. */
export interface DiversityReport {
  /** The l checked. */
  l: number;
  /** Fewest distinct sensitive values in a class. */
  smallestDistinct: number;
  /** Classes with fewer than l distinct sensitive values. */
  classesViolatingDistinct: number;
  /** Records in those classes. */
  recordsViolatingDistinct: number;
  /** exp of the smallest entropy (nats) of a class's sensitive values: the largest l for which the table is entropy l-diverse. */
  entropyL: number;
  /** Classes whose entropy is below log l (up to a relative 1e-12 for rounding). */
  classesViolatingEntropy: number;
  /** Records in those classes. */
  recordsViolatingEntropy: number;
}

/** The outcome of {@link anonymityReport}. */
export interface AnonymityReport {
  /** Records in the table. */
  records: number;
  /** Equivalence classes (distinct quasi-identifier combinations). */
  classes: number;
  /** Size of the smallest class (0 for an empty table): the table is k-anonymous for every k up to it. */
  smallestClass: number;
  /** The k checked. */
  k: number;
  /** Classes smaller than k. */
  classesViolatingK: number;
  /** Records in those classes (what suppression would have to remove). */
  recordsViolatingK: number;
  /** Present when `sensitive` and `l` are given. */
  diversity?: DiversityReport;
}

const MAX_RECORDS = 2 ** 24;
const MAX_QUASI_IDENTIFIERS = 64;

/** A value as a key part that tells types apart ('1' and 1 differ); null and undefined are one missing value. */
function keyPart(name: string, value: unknown, index: number): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string' || (typeof value === 'number' && !Number.isNaN(value)) || typeof value === 'boolean' || typeof value === 'bigint') {
    return JSON.stringify([typeof value, String(value)]);
  }
  const time = value instanceof Date ? dateTime(value) : NaN;
  if (!Number.isNaN(time)) return JSON.stringify(['date', String(time)]);
  throw new PrivkitError('E_ARG', `${name} must be a string, a number (not NaN), a boolean, a bigint, a valid Date or null, got ${describe(value)}`, { argument: name, index });
}

/** The time of a genuine Date, NaN for an invalid one or an object that only inherits from Date.prototype. */
function dateTime(value: Date): number {
  try {
    return Date.prototype.getTime.call(value);
  } catch {
    return NaN;
  }
}

function readColumnName(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new PrivkitError('E_ARG', `${name} must be a column name (a string), got ${describe(value)}`, { argument: name });
  return value;
}

/**
 * The k-anonymity and l-diversity of a table: groups the records by their quasi-identifiers and
 * reports the smallest class, the classes and records violating k and, with a sensitive column,
 * those violating distinct and entropy l-diversity. Passing is necessary, not sufficient: see the
 * module notes (k-anonymity is not differential privacy).
 *
 * @param records - plain objects (at most 2^24); quasi-identifier and sensitive values are strings, numbers (not NaN), booleans, bigints, valid Dates or null.
 * @throws {PrivkitError} E_ARG when records is not an array of objects, opts is not an object, quasiIdentifiers is not an array of 1 to 64 distinct strings, k or l is not an integer >= 1, sensitive is not a string, only one of sensitive and l is given, sensitive is also a quasi-identifier, or a value is of another type (named `records[i].<column>`).
 *
 * @example
 * ```ts
 * import { anonymityReport } from 'privkit/protect';
 * const table = [
 *   { zip: '021**', age: '[30, 40)', diagnosis: 'flu' },
 *   { zip: '021**', age: '[30, 40)', diagnosis: 'asthma' },
 *   { zip: '021**', age: '[40, 50)', diagnosis: 'flu' },
 * ];
 * const report = anonymityReport(table, { quasiIdentifiers: ['zip', 'age'], k: 2, sensitive: 'diagnosis', l: 2 });
 * console.log(report.smallestClass, report.recordsViolatingK); // 1 1
 * ```
 */
export function anonymityReport(records: readonly object[], opts: AnonymityOptions): AnonymityReport {
  const o = readOptions(opts, ['quasiIdentifiers', 'k', 'sensitive', 'l']);
  const quasi = readArray('quasiIdentifiers', o.quasiIdentifiers, readColumnName, MAX_QUASI_IDENTIFIERS);
  if (quasi.length === 0) throw new PrivkitError('E_ARG', 'quasiIdentifiers must name at least one column', { argument: 'quasiIdentifiers' });
  if (new Set(quasi).size !== quasi.length) throw new PrivkitError('E_ARG', 'quasiIdentifiers must be distinct', { argument: 'quasiIdentifiers' });
  const k = assertInteger('k', o.k, 1);
  if ((o.sensitive === undefined) !== (o.l === undefined)) {
    throw new PrivkitError('E_ARG', 'give sensitive and l together', { argument: o.sensitive === undefined ? 'sensitive' : 'l' });
  }
  const sensitive = o.sensitive === undefined ? undefined : readColumnName('sensitive', o.sensitive);
  const l = o.l === undefined ? undefined : assertInteger('l', o.l, 1);
  if (sensitive !== undefined && quasi.includes(sensitive)) throw new PrivkitError('E_ARG', 'sensitive must not be a quasi-identifier', { argument: 'sensitive' });

  const classes = new Map<string, { size: number; sensitive: Map<string, number> }>();
  const rows = readArray('records', records, (name, record, i) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new PrivkitError('E_ARG', `${name} must be an object, got ${describe(record)}`, { argument: 'records', index: i });
    }
    return record as Record<string, unknown>;
  }, MAX_RECORDS);
  rows.forEach((record, i) => {
    const key = quasi.map((column) => keyPart(`records[${i}].${column}`, record[column], i)).join(',');
    const group = classes.get(key) ?? { size: 0, sensitive: new Map<string, number>() };
    classes.set(key, group);
    group.size++;
    if (sensitive !== undefined) {
      const value = keyPart(`records[${i}].${sensitive}`, record[sensitive], i);
      group.sensitive.set(value, (group.sensitive.get(value) ?? 0) + 1);
    }
  });

  const report: AnonymityReport = { records: rows.length, classes: classes.size, smallestClass: 0, k, classesViolatingK: 0, recordsViolatingK: 0 };
  const diversity: DiversityReport | undefined =
    l === undefined
      ? undefined
      : { l, smallestDistinct: 0, classesViolatingDistinct: 0, recordsViolatingDistinct: 0, entropyL: 0, classesViolatingEntropy: 0, recordsViolatingEntropy: 0 };
  let smallest = Infinity;
  let fewestDistinct = Infinity;
  let lowestEntropy = Infinity;
  for (const group of classes.values()) {
    smallest = Math.min(smallest, group.size);
    if (group.size < k) {
      report.classesViolatingK++;
      report.recordsViolatingK += group.size;
    }
    if (diversity === undefined) continue;
    const distinct = group.sensitive.size;
    fewestDistinct = Math.min(fewestDistinct, distinct);
    if (distinct < diversity.l) {
      diversity.classesViolatingDistinct++;
      diversity.recordsViolatingDistinct += group.size;
    }
    let entropy = 0;
    for (const count of group.sensitive.values()) {
      const p = count / group.size;
      entropy -= p * Math.log(p);
    }
    lowestEntropy = Math.min(lowestEntropy, entropy);
    // l equally common values give entropy log l up to rounding: compare with a relative tolerance
    if (entropy < Math.log(diversity.l) * (1 - 1e-12)) {
      diversity.classesViolatingEntropy++;
      diversity.recordsViolatingEntropy += group.size;
    }
  }
  if (classes.size > 0) report.smallestClass = smallest;
  if (diversity !== undefined) {
    if (classes.size > 0) {
      diversity.smallestDistinct = fewestDistinct;
      diversity.entropyL = Math.exp(lowestEntropy);
    }
    report.diversity = diversity;
  }
  return report;
}
