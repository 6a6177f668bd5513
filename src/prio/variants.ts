// The Prio3 variants of draft-irtf-cfrg-vdaf-20 (section 7.4) as VDAF objects, with their parameters
// and measurements checked: a measurement outside the variant's domain is E_ARG before sharding.
import { PrivkitError } from '../errors.js';
import { assertInteger, describe, readOptions } from '../validate.js';
import { countCircuit, higherDegreeCircuit, histogramCircuit, multihotCountVecCircuit, sumCircuit, sumVecCircuit } from './circuits.js';
import { Field128, Field64, type Field } from './field.js';
import { Prio3 } from './prio3.js';

/** Largest encoded measurement (field elements) a variant may have. */
export const MAX_MEASUREMENT_LENGTH = 2 ** 22;
/** Largest `max` of Sum and SumVec (the measurement is a JS number). */
export const MAX_SUM_MAX = Number.MAX_SAFE_INTEGER;

/** Codepoints of the private-use range used by the draft's test-only variants. */
const ID_SUM_VEC_WITH_MULTIPROOF = 0xffffffff;
const ID_HIGHER_DEGREE = 0xffffffff;

/** Options every variant takes. */
export interface Prio3CommonOptions {
  /** Number of aggregators, 2..255 (ping-pong needs 2). Default 2. */
  shares?: number;
}

function readShares(value: unknown): number {
  return value === undefined ? 2 : assertInteger('shares', value, 2, 255);
}

function checkInteger(name: string, value: unknown, max: number, index?: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    const where = index === undefined ? name : `${name}[${index}]`;
    throw new PrivkitError('E_ARG', `${where} must be an integer in [0, ${max}], got ${describe(value)}`, index === undefined ? { argument: name } : { argument: name, index });
  }
  return value;
}

/** A copy of an array argument of `length` elements (holes read as undefined, so they are checked too). */
function checkArray(name: string, value: unknown, length: number): unknown[] {
  if (!Array.isArray(value) || value.length !== length) throw new PrivkitError('E_ARG', `${name} must be an array of ${length} elements, got ${describe(value)}`, { argument: name });
  return Array.from({ length }, (_, i) => (value as unknown[])[i]);
}

/** The chunk length: given, or near the square root of the encoded length (the draft's recommendation). */
function readChunkLength(value: unknown, encodedLength: number): number {
  if (value === undefined) return Math.max(1, Math.round(Math.sqrt(encodedLength)));
  return assertInteger('chunkLength', value, 1, encodedLength);
}

/** `max` given directly or as `bits` (max = 2^bits - 1); exactly one of them. */
function readMax(max: unknown, bits: unknown): number {
  if ((max === undefined) === (bits === undefined)) throw new PrivkitError('E_ARG', 'give exactly one of max and bits', { argument: max === undefined ? 'max' : 'bits' });
  if (bits !== undefined) return 2 ** assertInteger('bits', bits, 1, 53) - 1;
  return assertInteger('max', max, 1, MAX_SUM_MAX);
}

function checkEncodedLength(length: number): void {
  if (length > MAX_MEASUREMENT_LENGTH) throw new PrivkitError('E_ARG', `the encoded measurement would hold ${length} field elements, more than ${MAX_MEASUREMENT_LENGTH}`, { argument: 'length' });
}

/**
 * Prio3Count: each measurement is 0 or 1; the result is the number of ones.
 *
 * @param opts - the number of aggregators (`shares`, default 2).
 * @throws {PrivkitError} E_ARG when opts is not an object or shares is not an integer in [2, 255].
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { prio3Count } from 'privkit/prio';
 * await ready();
 * const vdaf = prio3Count();
 * const report = vdaf.shard(1);
 * console.log(report.inputShares.length); // 2
 * ```
 */
export function prio3Count(opts: Prio3CommonOptions = {}): Prio3<number, number> {
  const o = readOptions(opts, ['shares']);
  return made('prio3Count', o, new Prio3('Prio3Count', 1, countCircuit(Field64), 1, readShares(o.shares), (m) => checkInteger('measurement', m, 1)));
}

/** Options of {@link prio3Sum}. */
export interface Prio3SumOptions extends Prio3CommonOptions {
  /** The largest valid measurement (>= 1). Give this or `bits`. */
  max?: number;
  /** Measurements in [0, 2^bits - 1]. Give this or `max`. */
  bits?: number;
}

/**
 * Prio3Sum: each measurement is an integer in [0, max]; the result is their sum.
 *
 * @param opts - `max` (or `bits`) and the number of aggregators.
 * @throws {PrivkitError} E_ARG when not exactly one of max and bits is given, max is not an integer in [1, 2^53 - 1], bits not in [1, 53], or shares not in [2, 255].
 */
export function prio3Sum(opts: Prio3SumOptions): Prio3<number, number> {
  const o = readOptions(opts, ['max', 'bits', 'shares']);
  const max = readMax(o.max, o.bits);
  return made('prio3Sum', o, new Prio3('Prio3Sum', 2, sumCircuit(Field64, max), 1, readShares(o.shares), (m) => checkInteger('measurement', m, max)));
}

/** Options of {@link prio3SumVec}. */
export interface Prio3SumVecOptions extends Prio3CommonOptions {
  /** Number of elements of each measurement (>= 1). */
  length: number;
  /** The largest valid element. Give this or `bits`. */
  max?: number;
  /** Elements in [0, 2^bits - 1]. Give this or `max`. */
  bits?: number;
  /** ParallelSum chunk length. Default: near sqrt(length * bits). */
  chunkLength?: number;
}

function sumVec(name: string, id: number, field: Field, proofs: number, opts: Prio3SumVecOptions): Prio3<readonly number[], number[]> {
  const o = readOptions(opts, ['length', 'max', 'bits', 'chunkLength', 'shares']);
  const length = assertInteger('length', o.length, 1, MAX_MEASUREMENT_LENGTH);
  const max = readMax(o.max, o.bits);
  const encodedLength = length * max.toString(2).length;
  checkEncodedLength(encodedLength);
  const chunkLength = readChunkLength(o.chunkLength, encodedLength);
  return new Prio3(name, id, sumVecCircuit(field, length, max, chunkLength), proofs, readShares(o.shares), (m) =>
    checkArray('measurement', m, length).map((v, i) => checkInteger('measurement', v, max, i)),
  );
}

/**
 * Prio3SumVec: each measurement is `length` integers in [0, max]; the result is their element-wise sum.
 *
 * @param opts - `length`, `max` (or `bits`), `chunkLength` and the number of aggregators.
 * @throws {PrivkitError} E_ARG when length is not an integer >= 1, not exactly one of max and bits is given, chunkLength is not in [1, length * bits], the encoded measurement would exceed 2^22 elements, or shares is not in [2, 255].
 */
export function prio3SumVec(opts: Prio3SumVecOptions): Prio3<readonly number[], number[]> {
  return made('prio3SumVec', opts, sumVec('Prio3SumVec', 3, Field128, 1, opts));
}

/** Options of {@link prio3SumVecWithMultiproof}. */
export interface Prio3MultiproofOptions extends Prio3SumVecOptions {
  /** Number of independent proofs, 3..255 (more proofs, smaller soundness error). */
  proofs: number;
}

/** Fewest proofs of a Field64 circuit with joint randomness (draft-irtf-cfrg-vdaf-20, section 9.5: MUST be 3). */
const MIN_FIELD64_PROOFS = 3;

/**
 * The draft's Prio3SumVecWithMultiproof: SumVec over Field64 with several independent proofs
 * (a private-use codepoint, 0xFFFFFFFF). Soundness error per proof is about 2^-64 times the
 * circuit degree bound, and a client may grind its joint randomness offline, so the draft requires
 * at least 3 proofs for a Field64 circuit with joint randomness (fewer are E_ARG).
 *
 * @param opts - as prio3SumVec, plus `proofs`.
 * @throws {PrivkitError} E_ARG as prio3SumVec, or when proofs is not an integer in [3, 255].
 */
export function prio3SumVecWithMultiproof(opts: Prio3MultiproofOptions): Prio3<readonly number[], number[]> {
  const o = readOptions(opts, ['proofs']);
  const proofs = assertInteger('proofs', o.proofs, MIN_FIELD64_PROOFS, 255);
  return made('prio3SumVecWithMultiproof', opts, sumVec('Prio3SumVecWithMultiproof', ID_SUM_VEC_WITH_MULTIPROOF, Field64, proofs, opts));
}

/** Options of {@link prio3Histogram}. */
export interface Prio3HistogramOptions extends Prio3CommonOptions {
  /** Number of buckets (>= 1). */
  length: number;
  /** ParallelSum chunk length. Default: near sqrt(length). */
  chunkLength?: number;
}

/**
 * Prio3Histogram: each measurement is a bucket index in [0, length); the result counts each bucket.
 *
 * @param opts - `length`, `chunkLength` and the number of aggregators.
 * @throws {PrivkitError} E_ARG when length is not an integer in [1, 2^22], chunkLength not in [1, length], or shares not in [2, 255].
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { prio3Histogram } from 'privkit/prio';
 * await ready();
 * const vdaf = prio3Histogram({ length: 4 });
 * const verifyKey = crypto.getRandomValues(new Uint8Array(32));
 * const leaderSum = vdaf.aggregator();
 * const helperSum = vdaf.aggregator();
 * for (const bucket of [2, 0, 2]) {
 *   const { nonce, publicShare, inputShares } = vdaf.shard(bucket);
 *   const leader = vdaf.leaderInit({ verifyKey, nonce, publicShare, inputShare: inputShares[0]! });
 *   const helper = vdaf.helperInit({ verifyKey, nonce, publicShare, inputShare: inputShares[1]!, inbound: leader.outbound });
 *   leaderSum.add(nonce, vdaf.leaderContinued(leader.state, helper.outbound));
 *   helperSum.add(nonce, helper.outShare);
 * }
 * console.log(vdaf.unshard([leaderSum.share(), helperSum.share()], 3)); // [1, 0, 2, 0]
 * ```
 */
export function prio3Histogram(opts: Prio3HistogramOptions): Prio3<number, number[]> {
  const o = readOptions(opts, ['length', 'chunkLength', 'shares']);
  const length = assertInteger('length', o.length, 1, MAX_MEASUREMENT_LENGTH);
  const chunkLength = readChunkLength(o.chunkLength, length);
  return made('prio3Histogram', o, new Prio3('Prio3Histogram', 4, histogramCircuit(Field128, length, chunkLength), 1, readShares(o.shares), (m) => checkInteger('measurement', m, length - 1)));
}

/** Options of {@link prio3MultihotCountVec}. */
export interface Prio3MultihotOptions extends Prio3CommonOptions {
  /** Number of entries (>= 1). */
  length: number;
  /** The largest number of true entries, 1..length. */
  maxWeight: number;
  /** ParallelSum chunk length. Default: near sqrt(length + bits of maxWeight). */
  chunkLength?: number;
}

/**
 * Prio3MultihotCountVec: each measurement is `length` booleans with at most `maxWeight` true; the
 * result counts the trues of each entry.
 *
 * @param opts - `length`, `maxWeight`, `chunkLength` and the number of aggregators.
 * @throws {PrivkitError} E_ARG when length is not an integer in [1, 2^22], maxWeight not in [1, length], chunkLength out of range, or shares not in [2, 255].
 */
export function prio3MultihotCountVec(opts: Prio3MultihotOptions): Prio3<readonly boolean[], number[]> {
  const o = readOptions(opts, ['length', 'maxWeight', 'chunkLength', 'shares']);
  const length = assertInteger('length', o.length, 1, MAX_MEASUREMENT_LENGTH - 64);
  const maxWeight = assertInteger('maxWeight', o.maxWeight, 1, length);
  const encodedLength = length + maxWeight.toString(2).length;
  const chunkLength = readChunkLength(o.chunkLength, encodedLength);
  const vdaf = new Prio3('Prio3MultihotCountVec', 5, multihotCountVecCircuit(Field128, length, maxWeight, chunkLength), 1, readShares(o.shares), (m) => {
    const entries = checkArray('measurement', m, length).map((b, i) => {
      if (typeof b !== 'boolean') throw new PrivkitError('E_ARG', `measurement[${i}] must be a boolean, got ${describe(b)}`, { argument: 'measurement', index: i });
      return b;
    });
    const weight = entries.filter(Boolean).length;
    if (weight > maxWeight) throw new PrivkitError('E_ARG', `measurement has ${weight} true entries, more than maxWeight ${maxWeight}`, { argument: 'measurement' });
    return entries;
  });
  return made('prio3MultihotCountVec', o, vdaf);
}

/**
 * The draft's test-only Prio3 variant with a degree-3 gadget: each measurement is 0, 1 or 2 (checked
 * by x(x-1)(x-2) = 0 through PolyEval); the result is their sum. Private-use codepoint.
 *
 * @param opts - the number of aggregators.
 * @throws {PrivkitError} E_ARG when opts is not an object or shares is not an integer in [2, 255].
 */
export function prio3HigherDegree(opts: Prio3CommonOptions = {}): Prio3<number, number> {
  const o = readOptions(opts, ['shares']);
  return made('prio3HigherDegree', o, new Prio3('Prio3HigherDegree', ID_HIGHER_DEGREE, higherDegreeCircuit(Field64), 1, readShares(o.shares), (m) => checkInteger('measurement', m, 2)));
}

// ---- Recipes: how a VDAF object was made, so a pool worker can make the same one ----

/** The factories a recipe may name. */
const FACTORIES = { prio3Count, prio3Sum, prio3SumVec, prio3SumVecWithMultiproof, prio3Histogram, prio3MultihotCountVec, prio3HigherDegree };

/** A VDAF's factory and its (numeric) options: structured-cloneable, so it crosses to a worker. */
export interface Prio3Recipe {
  factory: keyof typeof FACTORIES;
  options: Record<string, number>;
}

const recipes = new WeakMap<object, Prio3Recipe>();

/** Records how `vdaf` was made: `factory` on the options read from `opts` (every variant's options are numbers). */
function made<V extends object>(factory: Prio3Recipe['factory'], opts: object, vdaf: V): V {
  const options: Record<string, number> = {};
  for (const [key, value] of Object.entries(opts)) if (typeof value === 'number') options[key] = value;
  recipes.set(vdaf, { factory, options });
  return vdaf;
}

/** The recipe of a VDAF made by one of this file's factories; E_ARG naming `argument` for anything else. */
export function recipeOf(vdaf: unknown, argument: string): Prio3Recipe {
  const recipe = typeof vdaf === 'object' && vdaf !== null ? recipes.get(vdaf) : undefined;
  if (recipe === undefined) throw new PrivkitError('E_ARG', `${argument} must be a VDAF made by one of privkit/prio's factories (prio3Count, ...), got ${describe(vdaf)}`, { argument });
  return recipe;
}

/** The VDAF a recipe describes, made again by its factory (which checks the options again). */
export function fromRecipe(recipe: Prio3Recipe): Prio3<unknown, unknown> {
  const factory = FACTORIES[recipe.factory] as (options: Record<string, number>) => Prio3<unknown, unknown>;
  return factory(recipe.options);
}
