// Checks of array arguments read element by element (readNumbers, readArray), of numbers by a rule
// (checkNumber) and of byte strings of a fixed length (assertBytes: keys, seeds, nonces). Apart from
// ./validate.ts so that a bundle whose code uses only the basic checks (the kernels and the pool)
// does not carry these: a bundler puts each module in the chunks that use it, never part of one.
// Each throws a PrivkitError naming the argument.
import { PrivkitError } from './errors.js';
import { describe } from './validate.js';
import { checkTypedArray, currentLength, typedArrayKind } from './wasm/boundary.js';

/** A genuine, attached Uint8Array of exactly `length` bytes (a key, a seed, a nonce). */
export function assertBytes(name: string, value: unknown, length: number): Uint8Array {
  const bytes = checkTypedArray(name, value, ['Uint8Array']);
  if (currentLength(bytes) !== length) throw new PrivkitError('E_ARG', `${name} must be a Uint8Array of ${length} bytes, got ${describe(value)}`, { argument: name });
  return bytes;
}

/** Longest array (of options, bounds, records given as a JS array) a check reads: 2^28 elements. */
const MAX_ARRAY_LENGTH = 2 ** 28;

/** The length of an array-like argument: an Array, a genuine attached typed array, or an object with a length; at most `maxLength`. */
function arrayLength(name: string, value: unknown, maxLength = MAX_ARRAY_LENGTH): number {
  if (value === null || typeof value !== 'object') {
    throw new PrivkitError('E_ARG', `${name} must be an array, got ${describe(value)}`, { argument: name });
  }
  const kind = typedArrayKind(value);
  if (kind !== undefined) return checkLength(name, currentLength(checkTypedArray(name, value, [kind])), maxLength);
  if (ArrayBuffer.isView(value)) throw new PrivkitError('E_ARG', `${name} must be an array, got ${describe(value)}`, { argument: name });
  const length = (value as ArrayLike<unknown>).length;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new PrivkitError('E_ARG', `${name} must be an array, got ${describe(value)}`, { argument: name });
  }
  return checkLength(name, length, maxLength);
}

function checkLength(name: string, length: number, maxLength: number): number {
  if (length > maxLength) throw new PrivkitError('E_ARG', `${name} must have at most ${maxLength} elements, got ${length}`, { argument: name });
  return length;
}

/** What a number must be: finite unless `finite` is false, an integer, within bounds (inclusive min/max, exclusive above/below). */
export interface NumberRule {
  finite?: boolean;
  integer?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/** The rule in words, for messages: "a finite integer >= 1". */
function ruleText(rule: NumberRule): string {
  const parts = [rule.integer ? 'an integer' : rule.finite === false ? 'a number' : 'a finite number'];
  if (rule.min !== undefined) parts.push(`>= ${rule.min}`);
  if (rule.above !== undefined) parts.push(`> ${rule.above}`);
  if (rule.max !== undefined) parts.push(`<= ${rule.max}`);
  if (rule.below !== undefined) parts.push(`< ${rule.below}`);
  return parts.join(' ');
}

function followsRule(v: number, rule: NumberRule): boolean {
  if (Number.isNaN(v) || (rule.finite !== false && !Number.isFinite(v))) return false;
  if (rule.integer && !Number.isSafeInteger(v)) return false;
  return !(
    (rule.min !== undefined && v < rule.min) ||
    (rule.max !== undefined && v > rule.max) ||
    (rule.above !== undefined && !(v > rule.above)) ||
    (rule.below !== undefined && !(v < rule.below))
  );
}

/**
 * The numbers of an array-like argument (an Array, a typed array or an array-like object), each
 * checked by `rule`, copied into a new Float64Array (so later reads can not see other values). A
 * bad element gives E_ARG (E_NONFINITE for NaN or +-Infinity where finite numbers are required)
 * with the argument and the element's index.
 */
export function readNumbers(name: string, value: unknown, rule: NumberRule = {}, maxLength = MAX_ARRAY_LENGTH): Float64Array {
  const length = arrayLength(name, value, maxLength);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const v = (value as ArrayLike<unknown>)[i];
    if (typeof v !== 'number' || !followsRule(v, rule)) {
      const code = typeof v === 'number' && !Number.isFinite(v) && !rule.integer ? 'E_NONFINITE' : 'E_ARG';
      throw new PrivkitError(code, `${name}[${i}] must be ${ruleText(rule)}, got ${describe(v)}`, { argument: name, index: i });
    }
    out[i] = v;
  }
  return out;
}

/** One number checked by `rule` (E_ARG naming `name` otherwise). */
export function checkNumber(name: string, value: unknown, rule: NumberRule): number {
  if (typeof value !== 'number' || !followsRule(value, rule)) {
    throw new PrivkitError('E_ARG', `${name} must be ${ruleText(rule)}, got ${describe(value)}`, { argument: name });
  }
  return value;
}

/**
 * The elements of an array-like argument (at most `maxLength`), each checked by `element` (called
 * with the element's name `name[i]`, value and index); returns them as a new Array.
 */
export function readArray<T>(name: string, value: unknown, element: (name: string, value: unknown, index: number) => T, maxLength = MAX_ARRAY_LENGTH): T[] {
  const length = arrayLength(name, value, maxLength);
  const out: T[] = new Array(length);
  for (let i = 0; i < length; i++) out[i] = element(`${name}[${i}]`, (value as ArrayLike<unknown>)[i], i);
  return out;
}
