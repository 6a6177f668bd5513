// Desensitization of records before they leave their owner: keyed pseudonymization (HMAC-SHA-256,
// batched in wasm: src/protect/hmac.ts), masking of strings, emails and phone numbers, generalization (numeric buckets,
// top/bottom-coding, date truncation) and suppression, applied column by column by a policy.
//
// What this does NOT protect: a desensitized table can still be linked to outside data through the
// columns left readable (Sweeney's zip code + birth date + sex), pseudonyms are stable, so every
// record of one person stays linkable (and a guessable identifier can be confirmed by anyone who
// holds the key), masking keeps the length of a value, and no transformation here gives a formal
// guarantee. Check the result with anonymityReport, and prefer the DP releases (dpContingencyTable,
// dpQuantiles) when aggregates are what the recipient needs.
import { PrivkitError } from '../errors.js';
import { checkTypedArray, currentLength } from '../wasm/boundary.js';
import { ready } from '../wasm/runtime.js';
import { assertInteger, assertNumber, assertOneOf, describe, readOptions } from '../validate.js';
import { readArray } from '../validate-arrays.js';
import { hmacKeyStates, hmacTokens } from './hmac.js';

/** A keyed pseudonymizer made by {@link createPseudonymizer}. */
export interface Pseudonymizer {
  /** Bytes of HMAC-SHA-256 output kept in each token (the token is twice as many hex characters). */
  readonly tokenBytes: number;
  /**
   * The token of one value: HMAC-SHA-256(key, UTF-8 of String(value)) truncated to tokenBytes, in
   * lower-case hex. The same key and value always give the same token (1 and "1" give the same).
   *
   * @throws {PrivkitError} E_ARG (as a rejection) when value is not a string, a finite number or a bigint.
   */
  token(value: string | number | bigint): Promise<string>;
  /**
   * The tokens of many values, each distinct value once, in batched wasm calls.
   *
   * @throws {PrivkitError} E_ARG (as a rejection) when values is not an array of strings, finite numbers or bigints (`index` names the first bad one).
   */
  tokens(values: readonly (string | number | bigint)[]): Promise<string[]>;
}

/** Options of {@link createPseudonymizer}. */
export interface PseudonymizerOptions {
  /** The secret HMAC key: a Uint8Array of 32 to 1024 bytes (e.g. `crypto.getRandomValues(new Uint8Array(32))`), kept by the data owner. */
  key: Uint8Array;
  /** Bytes of each token, 4 to 32 (32 to 256 bits); default 16. See {@link pseudonymCollisionProbability} for the collisions a length allows. */
  tokenBytes?: number;
}

const MIN_KEY_BYTES = 32;
const MAX_KEY_BYTES = 1024;
/** Most values of one tokens() or desensitize() call. */
const MAX_VALUES = 2 ** 24;

const pseudonymizers = new WeakSet<object>();

function tokenInput(name: string, value: unknown, index?: number): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isFinite(value))) return String(value);
  throw new PrivkitError('E_ARG', `${name} must be a string, a finite number or a bigint, got ${describe(value)}`, { argument: name, index });
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** The lower-case hex of bytes [start, start + length). */
function hex(bytes: Uint8Array, start: number, length: number): string {
  let out = '';
  for (let i = start; i < start + length; i++) out += HEX[bytes[i]!]!;
  return out;
}

/**
 * Makes a keyed pseudonymizer: tokens are HMAC-SHA-256 (RFC 2104) of each value under a secret key,
 * truncated to `tokenBytes`. Without the key a token reveals nothing about its value; with it, anyone
 * can confirm a guessed value, so keep the key with the data owner (and use a fresh key per release
 * when records of different releases must not be linkable).
 *
 * The HMACs run in privkit's protect wasm module, many values per call (this function awaits
 * `ready()` itself). The pseudonymizer keeps the key's two padded SHA-256 states (as secret as the
 * key), not the key; no key material stays in wasm memory between calls. The kernel is constant time
 * with respect to the key and the values' bytes (SHA-256 is branch-free 32-bit word arithmetic);
 * only the lengths of the values decide how many blocks are hashed.
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when opts is not an object, key is not a Uint8Array of 32 to 1024 bytes, or tokenBytes is not an integer in [4, 32]; E_WASM (as a rejection) when the runtime cannot load the wasm modules.
 *
 * @example
 * ```ts
 * import { createPseudonymizer } from 'privkit/protect';
 * const ids = await createPseudonymizer({ key: crypto.getRandomValues(new Uint8Array(32)), tokenBytes: 8 });
 * console.log(await ids.token('alice@example.com')); // 16 hex characters, the same for every call with this key
 * ```
 */
export async function createPseudonymizer(opts: PseudonymizerOptions): Promise<Pseudonymizer> {
  const o = readOptions(opts, ['key', 'tokenBytes']);
  if (o.key === undefined) throw new PrivkitError('E_ARG', 'opts.key is required', { argument: 'key' });
  const key = readKey(o.key);
  const tokenBytes = o.tokenBytes === undefined ? 16 : assertInteger('tokenBytes', o.tokenBytes, 4, 32);
  await ready();
  const keyStates = hmacKeyStates(key);
  const pseudonymizer: Pseudonymizer = {
    tokenBytes,
    token: async (value) => hex(hmacTokens(keyStates, [tokenInput('value', value)], tokenBytes), 0, tokenBytes),
    tokens: async (values) => {
      const texts = readArray('values', values, (_name, v, i) => tokenInput('values', v, i), MAX_VALUES);
      const distinct = [...new Set(texts)];
      const tags = hmacTokens(keyStates, distinct, tokenBytes);
      const tokenOf = new Map<string, string>();
      distinct.forEach((text, i) => tokenOf.set(text, hex(tags, i * tokenBytes, tokenBytes)));
      return texts.map((text) => tokenOf.get(text)!);
    },
  };
  pseudonymizers.add(pseudonymizer);
  return Object.freeze(pseudonymizer);
}

function readKey(value: unknown): Uint8Array {
  const key = checkTypedArray('key', value, ['Uint8Array']);
  const length = currentLength(key);
  if (length < MIN_KEY_BYTES || length > MAX_KEY_BYTES) {
    throw new PrivkitError('E_ARG', `key must be a Uint8Array of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes, got ${describe(value)}`, { argument: 'key' });
  }
  return key;
}

/** The collision risk of truncated tokens, from {@link pseudonymCollisionProbability}. */
export interface CollisionRisk {
  /** The probability that some two of the distinct values share a token (tokens modelled as independent and uniform, as HMAC's are to anyone without the key). */
  probability: number;
  /** The birthday (union) bound n(n - 1) / 2^(bits + 1), capped at 1: always >= probability, close to it while small. */
  bound: number;
}

/** Distinct values up to which the exact product is summed term by term. */
const DIRECT_TERMS = 2 ** 16;

/**
 * The probability that `distinctValues` distinct values get at least two equal tokens of `tokenBits`
 * bits: 1 - prod_{i<n} (1 - i/2^bits), the birthday problem, computed without cancellation (the log
 * of the product summed term by term up to 2^16 values, beyond that by Euler-Maclaurin, whose
 * remainder is below 2^-90 relative there), and the union bound n(n - 1)/2^(bits+1).
 *
 * @param distinctValues - the number n of distinct values pseudonymized under one key (0 to 2^53 - 1).
 * @param tokenBits - bits per token (1 to 256; a Pseudonymizer's tokens have 8 x tokenBytes bits).
 * @throws {PrivkitError} E_ARG when distinctValues is not a safe integer >= 0 or tokenBits is not an integer in [1, 256].
 *
 * @example
 * ```ts
 * import { pseudonymCollisionProbability } from 'privkit/protect';
 * // a million customers with 64-bit tokens: probability ~2.7e-8 that two share a token
 * const { probability, bound } = pseudonymCollisionProbability(1_000_000, 64);
 * ```
 */
export function pseudonymCollisionProbability(distinctValues: number, tokenBits: number): CollisionRisk {
  const n = assertInteger('distinctValues', distinctValues);
  const bits = assertInteger('tokenBits', tokenBits, 1, 256);
  const space = 2 ** bits;
  const bound = Math.min(1, (n * (n - 1)) / (2 * space));
  if (n <= 1) return { probability: 0, bound: 0 };
  if (n > space) return { probability: 1, bound: 1 };
  return { probability: -Math.expm1(logNoCollision(n, space)), bound };
}

/** log prod_{i<n} (1 - i/N), 2 <= n <= N. */
function logNoCollision(n: number, N: number): number {
  if (n <= DIRECT_TERMS) {
    let sum = 0;
    for (let i = 1; i < n; i++) sum += Math.log1p(-i / N);
    return sum;
  }
  const t = n / N;
  // n >= 2^16 and t > 1/2: the sum is below -n(n-1)/(2N) < -16383, the probability is 1 in doubles
  if (t > 0.5) return -Infinity;
  // sum_{i=0}^{n-1} f(i), f(x) = log(1 - x/N), by Euler-Maclaurin: the integral -N g(t), minus f(n)/2,
  // plus (f'(n) - f'(0))/12 = -n/(12 N (N - n)); the next term is O(N^-3)
  return -N * integralTerm(t) - Math.log1p(-t) / 2 - n / (12 * N * (N - n));
}

/** g(t) = t + (1 - t) log(1 - t) = sum_{k>=2} t^k / (k (k - 1)), without cancellation for small t. */
function integralTerm(t: number): number {
  if (t >= 0.1) return t + (1 - t) * Math.log1p(-t);
  let sum = 0;
  let power = t;
  for (let k = 2; k < 200; k++) {
    power *= t;
    const term = power / (k * (k - 1));
    sum += term;
    if (term < sum * 2 ** -60) break;
  }
  return sum;
}

/** Options of {@link maskString}. */
export interface MaskOptions {
  /** Characters (code points) kept at the start; default 0. */
  keepFirst?: number;
  /** Characters kept at the end; default 0. */
  keepLast?: number;
  /** The character that replaces the others; default '*'. */
  maskChar?: string;
}

function readMaskChar(value: unknown): string {
  if (value === undefined) return '*';
  if (typeof value !== 'string' || [...value].length !== 1) {
    throw new PrivkitError('E_ARG', `maskChar must be a single character, got ${describe(value)}`, { argument: 'maskChar' });
  }
  return value;
}

function masked(chars: string[], keepFirst: number, keepLast: number, maskChar: string): string {
  // a value no longer than what would be kept is masked whole: masking never shows a short value in full
  if (keepFirst + keepLast >= chars.length) return maskChar.repeat(chars.length);
  return chars.slice(0, keepFirst).join('') + maskChar.repeat(chars.length - keepFirst - keepLast) + chars.slice(chars.length - keepLast).join('');
}

function readString(name: string, value: unknown, index?: number): string {
  if (typeof value !== 'string') throw new PrivkitError('E_ARG', `${name} must be a string, got ${describe(value)}`, { argument: name, index });
  return value;
}

/**
 * Masks a string: keeps its first `keepFirst` and last `keepLast` characters (code points) and
 * replaces the others with `maskChar`. The length is kept; a value of at most keepFirst + keepLast
 * characters is masked whole.
 *
 * @throws {PrivkitError} E_ARG when value is not a string, opts is not an object, keepFirst or keepLast is not an integer in [0, 2^20], or maskChar is not one character.
 *
 * @example
 * ```ts
 * import { maskString } from 'privkit/protect';
 * maskString('4111111111111111', { keepLast: 4 }); // '************1111'
 * ```
 */
export function maskString(value: string, opts: MaskOptions = {}): string {
  const o = readOptions(opts, ['keepFirst', 'keepLast', 'maskChar']);
  const keepFirst = o.keepFirst === undefined ? 0 : assertInteger('keepFirst', o.keepFirst, 0, 2 ** 20);
  const keepLast = o.keepLast === undefined ? 0 : assertInteger('keepLast', o.keepLast, 0, 2 ** 20);
  return masked([...readString('value', value)], keepFirst, keepLast, readMaskChar(o.maskChar));
}

/**
 * Masks the local part of an email address, keeping its first `keepFirst` characters (default 1)
 * and the domain: 'jane.doe@example.com' -> 'j*******@example.com'.
 *
 * @throws {PrivkitError} E_ARG when value is not a string of the form local@domain (both non-empty, no whitespace), or keepFirst is not an integer in [0, 64].
 *
 * @example
 * ```ts
 * import { maskEmail } from 'privkit/protect';
 * maskEmail('jane.doe@example.com'); // 'j*******@example.com'
 * ```
 */
export function maskEmail(value: string, opts: { keepFirst?: number } = {}): string {
  const keepFirst = readOptions(opts, ['keepFirst']).keepFirst;
  return emailMask(keepFirst === undefined ? 1 : assertInteger('keepFirst', keepFirst, 0, 64))(value, 'value');
}

function emailMask(keepFirst: number): (value: unknown, name: string, index?: number) => string {
  return (value, name, index) => {
    const text = readString(name, value, index);
    const at = text.lastIndexOf('@');
    if (at <= 0 || at === text.length - 1 || /\s/.test(text)) {
      throw new PrivkitError('E_ARG', `${name} must be an email address (local@domain), got ${describe(text)}`, { argument: name, index });
    }
    return masked([...text.slice(0, at)], keepFirst, 0, '*') + text.slice(at);
  };
}

/**
 * Masks the digits of a phone number except the last `keepLast` (default 4), keeping its layout:
 * '+1 (555) 123-4567' -> '+* (***) ***-4567'.
 *
 * @throws {PrivkitError} E_ARG when value is not a string of digits, spaces and + ( ) - . with more than keepLast digits, or keepLast is not an integer in [0, 8].
 *
 * @example
 * ```ts
 * import { maskPhone } from 'privkit/protect';
 * maskPhone('+1 (555) 123-4567'); // '+* (***) ***-4567'
 * ```
 */
export function maskPhone(value: string, opts: { keepLast?: number } = {}): string {
  const keepLast = readOptions(opts, ['keepLast']).keepLast;
  return phoneMask(keepLast === undefined ? 4 : assertInteger('keepLast', keepLast, 0, 8))(value, 'value');
}

function phoneMask(keepLast: number): (value: unknown, name: string, index?: number) => string {
  return (value, name, index) => {
    const text = readString(name, value, index);
    const digits = text.replace(/\D/g, '').length;
    if (!/^[0-9 +().-]*$/.test(text) || digits <= keepLast) {
      throw new PrivkitError('E_ARG', `${name} must be a phone number (digits, spaces and + ( ) - .) with more than ${keepLast} digits, got ${describe(text)}`, {
        argument: name,
        index,
      });
    }
    let seen = 0;
    return text.replace(/\d/g, (d) => (++seen > digits - keepLast ? d : '*'));
  };
}

/** Units of {@link truncateDate}. */
export type DateUnit = 'year' | 'month' | 'day' | 'hour';

const DATE_LENGTH: Record<DateUnit, number> = { year: 4, month: 7, day: 10, hour: 13 };

/**
 * A date truncated to a year, month, day or hour (UTC), as the prefix of its ISO 8601 form:
 * '2024', '2024-03', '2024-03-05' or '2024-03-05T14'.
 *
 * @param value - a Date, an ISO 8601 string or milliseconds since 1970 (years 0 to 9999).
 * @throws {PrivkitError} E_ARG when value is not a valid date in years 0 to 9999 or unit is not 'year', 'month', 'day' or 'hour'.
 *
 * @example
 * ```ts
 * import { truncateDate } from 'privkit/protect';
 * truncateDate('1984-07-21T09:30:00Z', 'month'); // '1984-07'
 * ```
 */
export function truncateDate(value: Date | string | number, unit: DateUnit): string {
  return dateTruncation(assertOneOf('unit', unit, ['year', 'month', 'day', 'hour'] as const))(value, 'value');
}

function dateTruncation(unit: DateUnit): (value: unknown, name: string, index?: number) => string {
  return (value, name, index) => {
    const time = typeof value === 'string' ? Date.parse(value) : typeof value === 'number' ? value : dateTime(value);
    const year = Number.isFinite(time) ? new Date(time).getUTCFullYear() : NaN;
    if (!(year >= 0 && year <= 9999)) {
      throw new PrivkitError('E_ARG', `${name} must be a valid date (a Date, an ISO string or milliseconds) in years 0 to 9999, got ${describe(value)}`, { argument: name, index });
    }
    return new Date(time).toISOString().slice(0, DATE_LENGTH[unit]);
  };
}

/** The time of a genuine Date (NaN for anything else, also an object that only inherits from Date.prototype). */
function dateTime(value: unknown): number {
  try {
    return Date.prototype.getTime.call(value);
  } catch {
    return NaN;
  }
}

/** Options of {@link bucketNumber}: buckets [origin + j width, origin + (j + 1) width). */
export interface BucketOptions {
  /** Width of each bucket (finite, > 0). */
  width: number;
  /** Where bucket 0 starts; default 0. */
  origin?: number;
}

function readBucket(opts: unknown): (value: unknown, name: string, index?: number) => string {
  const o = readOptions(opts as BucketOptions, ['width', 'origin']);
  const width = assertNumber('width', o.width, 'positive');
  const origin = o.origin === undefined ? 0 : assertNumber('origin', o.origin);
  return (value, name, index) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new PrivkitError('E_ARG', `${name} must be a finite number, got ${describe(value)}`, { argument: name, index });
    }
    const j = Math.floor((value - origin) / width);
    const [lo, hi] = [origin + j * width, origin + (j + 1) * width];
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new PrivkitError('E_ARG', `${name} (${value}) is too far from the origin for buckets of width ${width}: the bucket ends overflow`, { argument: name, index });
    }
    return `[${lo}, ${hi})`;
  };
}

/**
 * The bucket of a number as a label '[lo, hi)', buckets of `width` starting at `origin`:
 * bucketNumber(37, { width: 10 }) is '[30, 40)'.
 *
 * @throws {PrivkitError} E_ARG when value is not a finite number, opts is not an object, width is not finite and > 0, or origin is not finite.
 *
 * @example
 * ```ts
 * import { bucketNumber } from 'privkit/protect';
 * bucketNumber(37, { width: 10 }); // '[30, 40)'
 * ```
 */
export function bucketNumber(value: number, opts: BucketOptions): string {
  return readBucket(opts)(value, 'value');
}

/** Options of {@link topCode}: at least one of the two bounds. */
export interface TopCodeOptions {
  /** Values below it are replaced by it (bottom-coding). */
  lower?: number;
  /** Values above it are replaced by it (top-coding). */
  upper?: number;
}

function readTopCode(opts: unknown): (value: unknown, name: string, index?: number) => number {
  const o = readOptions(opts as TopCodeOptions, ['lower', 'upper']);
  const lower = o.lower === undefined ? -Infinity : assertNumber('lower', o.lower);
  const upper = o.upper === undefined ? Infinity : assertNumber('upper', o.upper);
  if (o.lower === undefined && o.upper === undefined) throw new PrivkitError('E_ARG', 'give lower, upper or both', { argument: 'upper' });
  if (!(lower <= upper)) throw new PrivkitError('E_ARG', `lower (${lower}) must be <= upper (${upper})`, { argument: 'upper' });
  return (value, name, index) => {
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new PrivkitError('E_ARG', `${name} must be a number, got ${describe(value)}`, { argument: name, index });
    }
    return Math.min(upper, Math.max(lower, value));
  };
}

/**
 * Top- and bottom-coding: a value above `upper` becomes `upper`, one below `lower` becomes `lower`
 * (the rare extreme values that single a person out are pooled with the threshold).
 *
 * @throws {PrivkitError} E_ARG when value is not a number (or is NaN), opts is not an object, neither bound is given, a bound is not finite, or lower > upper.
 *
 * @example
 * ```ts
 * import { topCode } from 'privkit/protect';
 * topCode(104, { upper: 90 }); // 90
 * ```
 */
export function topCode(value: number, opts: TopCodeOptions): number {
  return readTopCode(opts)(value, 'value');
}

/**
 * How {@link desensitize} treats one column, by `kind`: 'keep' (copied unchanged: an explicit
 * decision that the column is not identifying), 'suppress' (removed from every output record),
 * 'pseudonymize' (its keyed token), 'mask' ({@link maskString}), 'email' ({@link maskEmail}),
 * 'phone' ({@link maskPhone}), 'bucket' ({@link bucketNumber}), 'topCode' ({@link topCode}) or
 * 'date' ({@link truncateDate}), with the options of that function.
 */
export type ColumnRule =
  | {
      /** Copy unchanged. */
      kind: 'keep';
    }
  | {
      /** Remove the column. */
      kind: 'suppress';
    }
  | {
      /** Replace by the keyed token. */
      kind: 'pseudonymize';
      /** The pseudonymizer (its key decides the tokens). */
      pseudonymizer: Pseudonymizer;
    }
  | ({
      /** Mask by {@link maskString}. */
      kind: 'mask';
    } & MaskOptions)
  | {
      /** Mask by {@link maskEmail}. */
      kind: 'email';
      /** Characters of the local part kept; default 1. */
      keepFirst?: number;
    }
  | {
      /** Mask by {@link maskPhone}. */
      kind: 'phone';
      /** Digits kept at the end; default 4. */
      keepLast?: number;
    }
  | ({
      /** Generalize by {@link bucketNumber}. */
      kind: 'bucket';
    } & BucketOptions)
  | ({
      /** Top/bottom-code by {@link topCode}. */
      kind: 'topCode';
    } & TopCodeOptions)
  | {
      /** Truncate by {@link truncateDate}. */
      kind: 'date';
      /** The unit kept. */
      unit: DateUnit;
    };

/** A column policy: the rule of every column the records may hold. */
export type ColumnPolicy = Readonly<Record<string, ColumnRule>>;

/** Options of {@link desensitize}. */
export interface DesensitizeOptions {
  /**
   * What to do with a column that the policy does not name: 'refuse' (default: E_ARG naming the
   * column, so that a new column never leaves unreviewed), 'drop' (removed) or 'keep' (copied as is).
   */
  unknownColumns?: 'refuse' | 'drop' | 'keep';
}

/** A desensitized record: the kept, transformed columns (suppressed ones removed). */
export type DesensitizedRecord = Record<string, unknown>;

type CellTransform = (value: unknown, name: string, index: number) => unknown;
interface CompiledRule {
  column: string;
  transform?: CellTransform;
  pseudonymizer?: Pseudonymizer;
}

/** Sets an own data property: a column named "__proto__" (JSON.parse makes such keys) stays data, never the record's prototype. */
function setColumn(record: DesensitizedRecord, column: string, value: unknown): void {
  if (column === '__proto__') Object.defineProperty(record, column, { value, writable: true, enumerable: true, configurable: true });
  else record[column] = value;
}

const RULE_KINDS = ['keep', 'suppress', 'pseudonymize', 'mask', 'email', 'phone', 'bucket', 'topCode', 'date'] as const;

function compileRule(column: string, rule: unknown): CompiledRule | undefined {
  const name = `policy.${column}`;
  if (rule === null || typeof rule !== 'object') throw new PrivkitError('E_ARG', `${name} must be a rule object, got ${describe(rule)}`, { argument: name });
  const { kind, ...rest } = rule as ColumnRule & Record<string, unknown>;
  switch (assertOneOf(`${name}.kind`, kind, RULE_KINDS)) {
    case 'keep':
      return { column };
    case 'suppress':
      return undefined;
    case 'pseudonymize': {
      const pseudonymizer = (rest as { pseudonymizer?: unknown }).pseudonymizer;
      if (typeof pseudonymizer !== 'object' || pseudonymizer === null || !pseudonymizers.has(pseudonymizer)) {
        throw new PrivkitError('E_ARG', `${name}.pseudonymizer must be made by createPseudonymizer, got ${describe(pseudonymizer)}`, { argument: `${name}.pseudonymizer` });
      }
      return { column, pseudonymizer: pseudonymizer as Pseudonymizer };
    }
    case 'mask': {
      const o = readOptions(rest as MaskOptions, ['keepFirst', 'keepLast', 'maskChar']);
      const keepFirst = o.keepFirst === undefined ? 0 : assertInteger(`${name}.keepFirst`, o.keepFirst, 0, 2 ** 20);
      const keepLast = o.keepLast === undefined ? 0 : assertInteger(`${name}.keepLast`, o.keepLast, 0, 2 ** 20);
      const maskChar = readMaskChar(o.maskChar);
      return { column, transform: (v, n, i) => masked([...readString(n, v, i)], keepFirst, keepLast, maskChar) };
    }
    case 'email': {
      const { keepFirst } = rest as { keepFirst?: unknown };
      return { column, transform: emailMask(keepFirst === undefined ? 1 : assertInteger(`${name}.keepFirst`, keepFirst, 0, 64)) };
    }
    case 'phone': {
      const { keepLast } = rest as { keepLast?: unknown };
      return { column, transform: phoneMask(keepLast === undefined ? 4 : assertInteger(`${name}.keepLast`, keepLast, 0, 8)) };
    }
    case 'bucket':
      return { column, transform: readBucket(rest) };
    case 'topCode':
      return { column, transform: readTopCode(rest) };
    case 'date':
      return { column, transform: dateTruncation(assertOneOf(`${name}.unit`, (rest as { unit?: unknown }).unit, ['year', 'month', 'day', 'hour'] as const)) };
  }
}

/**
 * Applies a column policy to records: every column is kept, suppressed, pseudonymized, masked or
 * generalized by its rule, into new records (the input is not modified). A missing value (null or
 * undefined) stays null in a kept column: missingness itself is not hidden. A column the policy does
 * not name is refused by default (see {@link DesensitizeOptions.unknownColumns}). Masking is not
 * anonymization: see the module notes, {@link anonymityReport} and the DP releases.
 *
 * @param records - plain objects, one per record (at most 2^24).
 * @param policy - the rule of each column.
 * @throws {PrivkitError} E_ARG (as a rejection) when records is not an array of objects, policy is not an object of valid rules (the message names `policy.<column>`), unknownColumns is not 'refuse', 'drop' or 'keep', a record holds a column the policy does not name under 'refuse', or a value does not fit its rule (the message names `records[i].<column>`, `index` is i).
 *
 * @example
 * ```ts
 * import { createPseudonymizer, desensitize } from 'privkit/protect';
 * const ids = await createPseudonymizer({ key: crypto.getRandomValues(new Uint8Array(32)) });
 * const out = await desensitize(
 *   [{ id: 'u-17', email: 'jane.doe@example.com', age: 37, born: '1987-04-02', note: 'vip' }],
 *   {
 *     id: { kind: 'pseudonymize', pseudonymizer: ids },
 *     email: { kind: 'email' },
 *     age: { kind: 'bucket', width: 10 },
 *     born: { kind: 'date', unit: 'year' },
 *     note: { kind: 'suppress' },
 *   },
 * );
 * // [{ id: '<32 hex>', email: 'j*******@example.com', age: '[30, 40)', born: '1987' }]
 * ```
 */
export async function desensitize(records: readonly object[], policy: ColumnPolicy, opts: DesensitizeOptions = {}): Promise<DesensitizedRecord[]> {
  const unknownColumns = assertOneOf('unknownColumns', readOptions(opts, ['unknownColumns']).unknownColumns, ['refuse', 'drop', 'keep'] as const, 'refuse');
  if (policy === null || typeof policy !== 'object' || Array.isArray(policy)) {
    throw new PrivkitError('E_ARG', `policy must be an object mapping columns to rules, got ${describe(policy)}`, { argument: 'policy' });
  }
  const named = new Set(Object.keys(policy));
  const rules = Object.keys(policy)
    .map((column) => compileRule(column, policy[column]))
    .filter((rule): rule is CompiledRule => rule !== undefined);
  const rows = readArray('records', records, (name, record, i) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new PrivkitError('E_ARG', `${name} must be an object, got ${describe(record)}`, { argument: 'records', index: i });
    }
    return record as Record<string, unknown>;
  }, MAX_VALUES);

  const out: DesensitizedRecord[] = new Array(rows.length);
  const pending = new Map<Pseudonymizer, { at: [DesensitizedRecord, string][]; values: string[] }>();
  rows.forEach((record, i) => {
    const result: DesensitizedRecord = {};
    for (const rule of rules) {
      const value = record[rule.column];
      const name = `records[${i}].${rule.column}`;
      if (value === undefined || value === null) setColumn(result, rule.column, null);
      else if (rule.pseudonymizer !== undefined) {
        const batch = pending.get(rule.pseudonymizer) ?? { at: [], values: [] };
        pending.set(rule.pseudonymizer, batch);
        batch.values.push(tokenInput(name, value, i));
        batch.at.push([result, rule.column]);
        setColumn(result, rule.column, null); // the token replaces it below (keeping the policy's column order)
      } else setColumn(result, rule.column, rule.transform === undefined ? value : rule.transform(value, name, i));
    }
    for (const column of Object.keys(record)) {
      if (named.has(column)) continue;
      if (unknownColumns === 'refuse') {
        throw new PrivkitError('E_ARG', `records[${i}] has column ${describe(column)} that the policy does not name (add a rule, or set unknownColumns)`, {
          argument: `records[${i}].${column}`,
          index: i,
        });
      }
      if (unknownColumns === 'keep') setColumn(result, column, record[column]);
    }
    out[i] = result;
  });
  for (const [pseudonymizer, batch] of pending) {
    const tokens = await pseudonymizer.tokens(batch.values);
    batch.at.forEach(([result, column], j) => setColumn(result, column, tokens[j]));
  }
  return out;
}
