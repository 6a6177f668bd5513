// The bad-input sweep's machinery: argument domains, the bad values each domain implies, and a
// runner that calls an exported function with one argument replaced at a time and judges the
// outcome. Every call must end in a PrivkitError with a code (naming the argument when the value is
// outside its domain) or in a result; valid-but-unusual inputs (shared or offset buffers, frozen,
// sealed, null-prototype and getter options) must give the same result as the plain call.
import { appendFileSync } from 'node:fs';
import { PrivkitError } from 'privkit';

/** With SWEEP_TRACE=<file>, each call's label is appended before the call (finds a call that aborts the process). */
const TRACE = process.env['SWEEP_TRACE'];

// ---------------------------------------------------------------------------------------------
// Domains: what an argument (or an options field, or an array element) accepts.

export interface NumberDomain {
  kind: 'number';
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Exclusive bounds. */
  above?: number;
  below?: number;
  integer?: boolean;
  /** +-Infinity are valid values. */
  infinite?: boolean;
}
export interface BigIntDomain {
  kind: 'bigint';
  min?: bigint;
  max?: bigint;
}
export interface EnumDomain {
  kind: 'enum';
  values: readonly unknown[];
}
export interface StringDomain {
  kind: 'string';
  /** Longest valid string; longer ones must be rejected (unbounded when absent). */
  maxLength?: number;
}
export interface BooleanDomain {
  kind: 'boolean';
}
export interface TypedArrayDomain {
  kind: 'typed';
  /** Constructor names accepted, e.g. ['Float32Array']. */
  classes: readonly string[];
}
export interface ArrayDomain {
  kind: 'array';
  /** The domain of each element. */
  element: Domain;
  /** ArrayLike: typed arrays and array-like objects are valid too (else a real Array is expected). */
  arrayLike?: boolean;
}
export interface ObjectDomain {
  kind: 'object';
  fields: Record<string, Field>;
}
export interface InstanceDomain {
  kind: 'instance';
  /** What is expected, for reports (e.g. 'Rng', 'PublicKey'). */
  what: string;
}
export interface FunctionDomain {
  kind: 'function';
}
export interface UnionDomain {
  kind: 'union';
  of: readonly Domain[];
}
/** Not mutated (e.g. a protocol message checked by its own rows); the reason is reported. */
export interface OpaqueDomain {
  kind: 'opaque';
  reason: string;
}
export type Domain = (
  | NumberDomain
  | BigIntDomain
  | EnumDomain
  | StringDomain
  | BooleanDomain
  | TypedArrayDomain
  | ArrayDomain
  | ObjectDomain
  | InstanceDomain
  | FunctionDomain
  | UnionDomain
  | OpaqueDomain
) & {
  /** undefined is valid (an optional argument or field). */
  optional?: boolean;
  /** null is valid (besides options objects, where null always means "no options"). */
  nullable?: boolean;
};
export type Field = Domain;

export const num = (d: Omit<NumberDomain, 'kind'> & { optional?: boolean } = {}): Domain => ({ kind: 'number', ...d });
export const int = (min = 0, max = Number.MAX_SAFE_INTEGER, extra: { optional?: boolean } = {}): Domain => ({
  kind: 'number',
  integer: true,
  min,
  max,
  ...extra,
});
export const positive = (extra: { optional?: boolean; max?: number } = {}): Domain => ({ kind: 'number', above: 0, ...extra });
export const nonNegative = (extra: { optional?: boolean; max?: number } = {}): Domain => ({ kind: 'number', min: 0, ...extra });
export const probability = (extra: { optional?: boolean } = {}): Domain => ({ kind: 'number', above: 0, below: 1, ...extra });
export const big = (min?: bigint, max?: bigint, extra: { optional?: boolean } = {}): Domain => ({ kind: 'bigint', min, max, ...extra });
export const oneOf = (values: readonly unknown[], extra: { optional?: boolean } = {}): Domain => ({ kind: 'enum', values, ...extra });
export const str = (maxLength?: number, extra: { optional?: boolean } = {}): Domain => ({ kind: 'string', maxLength, ...extra });
export const bool = (extra: { optional?: boolean } = {}): Domain => ({ kind: 'boolean', ...extra });
export const typed = (classes: string | readonly string[], extra: { optional?: boolean } = {}): Domain => ({
  kind: 'typed',
  classes: typeof classes === 'string' ? [classes] : classes,
  ...extra,
});
export const arrayOf = (element: Domain, extra: { arrayLike?: boolean; optional?: boolean } = {}): Domain => ({ kind: 'array', element, ...extra });
export const obj = (fields: Record<string, Field>, extra: { optional?: boolean } = {}): Domain => ({ kind: 'object', fields, ...extra });
export const instance = (what: string, extra: { optional?: boolean } = {}): Domain => ({ kind: 'instance', what, ...extra });
export const fn = (extra: { optional?: boolean } = {}): Domain => ({ kind: 'function', ...extra });
export const union = (of: readonly Domain[], extra: { optional?: boolean } = {}): Domain => ({ kind: 'union', of, ...extra });
export const opaque = (reason: string): Domain => ({ kind: 'opaque', reason });
export const optional = (d: Domain): Domain => ({ ...d, optional: true });
/** An Rng option: what createRng() returns. */
export const rngField = (): Domain => instance('Rng', { optional: true });

// ---------------------------------------------------------------------------------------------
// Rows: one exported function, constructor or method with a valid call.

export interface ArgSpec {
  name: string;
  domain: Domain;
}

export interface Row<C = any> {
  /** Argument names an error may give for a mutated path (and everything under it) besides its own. */
  aliases?: Record<string, readonly string[]>;
  /** The entry point, e.g. 'privkit/dp'. */
  entry: string;
  /** The export this row covers (a function, class or constant). */
  export: string;
  /** Label: the export, or 'Export#method', 'new Export', ... (default: the export). */
  label?: string;
  /** Fresh per-call context (e.g. an accountant whose method is called); shared state otherwise. */
  setup?: () => C | Promise<C>;
  /**
   * The observable state of a context, for rows whose setup is slow (a secure-aggregation round
   * brought to a step): a context whose call was refused with a PrivkitError and whose state is as
   * it was before the call serves the next call instead of a fresh one (a refused call must change
   * nothing; a context it did change is dropped).
   */
  stateOf?: (ctx: C) => unknown;
  /** Fresh valid arguments. */
  args: (ctx: C) => unknown[];
  /** Domains of the arguments, by position. */
  params: readonly ArgSpec[];
  /** Performs the call. */
  call: (args: any[], ctx: C) => unknown;
  /** The comparable form of a result (default: the result; compared by structural equality). */
  observe?: (result: any, args: any[], ctx: C) => unknown;
  /** Results are random even with the same arguments: valid variants need only succeed. */
  random?: string;
  /**
   * Known gaps (file owned by another change): label pattern -> reason. A failure that matches is
   * reported but does not fail the sweep; `skip: true` does not run the call at all (it would hang
   * or abort the process).
   */
  knownGaps?: Record<string, string | { reason: string; skip: true }>;
  /** Mutations not applicable to this row: label pattern -> reason (reported, never run). */
  notApplicable?: Record<string, string>;
  /**
   * Every valid call is slow (the reason): the valid-but-different values are not run, and of the
   * variants that must equal the plain call only the first of each argument (both reported);
   * every bad value still is.
   */
  slow?: string;
}

/** A constant export: checked to be a primitive or a frozen value. */
export interface ConstantRow {
  entry: string;
  export: string;
  constant: true;
}

export type SweepRow = Row | ConstantRow;

// ---------------------------------------------------------------------------------------------
// Mutations.

type Expectation = 'reject' | 'accept' | 'equal' | 'likeEmpty';

export interface Mutation {
  /** e.g. 'opts.epsilon=NaN'. */
  label: string;
  /** Argument path: the argument name, then fields / element indices. */
  path: readonly (string | number)[];
  /** Builds the bad value from the good value at the path. */
  make: (good: unknown) => unknown;
  expect: Expectation;
  /** The value the mutation is about (a field or element inside the argument at `path`). */
  fieldPath?: readonly (string | number)[];
  /** Other argument names an error may give (a missing options object: its required fields). */
  alsoNames?: readonly string[];
}

const LONG_STRING = 'x'.repeat(100_000);
/** One value of every JS type (besides numbers, which every numeric domain varies itself). */
const WRONG_TYPES: ReadonlyArray<[string, () => unknown]> = [
  ['string', () => '1'],
  ['longString', () => LONG_STRING],
  ['boolean', () => true],
  ['bigint', () => 1n],
  ['symbol', () => Symbol('bad')],
  ['object', () => ({})],
  ['array', () => []],
  ['function', () => () => 1],
  ['undefined', () => undefined],
  ['null', () => null],
  ['number', () => 1],
];
const NUMBERS: ReadonlyArray<[string, number]> = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['-0', -0],
  ['0', 0],
  ['2^31', 2 ** 31],
  ['2^53', 2 ** 53],
  ['1e308', 1e308],
  ['-1', -1],
  ['0.5', 0.5],
];
const BIGINTS: ReadonlyArray<[string, bigint]> = [
  ['0n', 0n],
  ['-1n', -1n],
  ['2^4096n', 1n << 4096n],
  ['-2^4096n', -(1n << 4096n)],
];
const TYPED_CLASSES: Record<string, new (x: any) => ArrayBufferView & ArrayLike<number>> = {
  Float32Array,
  Float64Array,
  Int32Array,
  Uint32Array,
  Uint16Array,
  Uint8Array,
  Int8Array,
  Int16Array,
  Uint8ClampedArray,
};

/** Whether a value of this JS type can belong to the domain (for unions and wrong-type values). */
function admits(domain: Domain, value: unknown): boolean {
  if (value === undefined && domain.optional) return true;
  if (value === null && domain.nullable) return true;
  switch (domain.kind) {
    case 'number':
      return typeof value === 'number' && numberValid(domain, value);
    case 'bigint':
      return typeof value === 'bigint' && (domain.min === undefined || value >= domain.min) && (domain.max === undefined || value <= domain.max);
    case 'enum':
      return domain.values.includes(value);
    case 'string':
      return typeof value === 'string' && (domain.maxLength === undefined || value.length <= domain.maxLength);
    case 'boolean':
      return typeof value === 'boolean';
    case 'typed':
      return ArrayBuffer.isView(value) && domain.classes.includes(value.constructor.name);
    case 'array':
      return Array.isArray(value) || (domain.arrayLike === true && ArrayBuffer.isView(value));
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'instance':
      return false;
    case 'function':
      return typeof value === 'function';
    case 'union':
      return domain.of.some((d) => admits(d, value));
    case 'opaque':
      return true;
  }
}

function numberValid(d: NumberDomain, v: number): boolean {
  if (Number.isNaN(v)) return false;
  if (!Number.isFinite(v) && !d.infinite) return false;
  if (d.integer && Number.isFinite(v) && !Number.isInteger(v)) return false;
  if (d.min !== undefined && !(v >= d.min)) return false;
  if (d.max !== undefined && !(v <= d.max)) return false;
  if (d.above !== undefined && !(v > d.above)) return false;
  if (d.below !== undefined && !(v < d.below)) return false;
  return true;
}

/** The mutations of the value at `path` (whose valid value is `good`) under `domain`. */
export function mutations(path: readonly (string | number)[], domain: Domain, good: unknown): Mutation[] {
  const out: Mutation[] = [];
  const label = (what: string) => `${pathLabel(path)}=${what}`;
  // without its options object a call reports the first required field it misses
  const alsoNames = domain.kind === 'object' ? Object.keys(domain.fields).filter((k) => !domain.fields[k]!.optional) : undefined;
  const add = (what: string, make: (good: unknown) => unknown, expect: Expectation) =>
    out.push({ label: label(what), path, make, expect, ...(alsoNames && (what === 'undefined' || what === 'null') ? { alsoNames } : {}) });
  const judge = (value: unknown): Expectation => (admits(domain, value) ? 'accept' : 'reject');

  if (domain.kind === 'opaque') return out;
  if (domain.kind === 'union') {
    // the mutations of the member the good value belongs to, then the generic ones of the others;
    // a value that another member admits is valid ('equal' variants keep their expectation)
    const member = domain.of.find((d) => admits(d, good)) ?? domain.of[0]!;
    const seen = new Set<string>();
    const own = mutations(path, { ...member, optional: domain.optional, nullable: domain.nullable }, good);
    const others = domain.of.filter((d) => d !== member).flatMap((d) => mutations(path, d, undefined));
    for (const m of [...own, ...others]) {
      if (seen.has(m.label)) continue;
      seen.add(m.label);
      if (m.expect === 'reject' && domain.of.some((d) => admits(d, m.make(good)))) m.expect = 'accept';
      out.push(m);
    }
    return out;
  }

  for (const [name, make] of WRONG_TYPES) {
    if (name === 'number' && domain.kind === 'number') continue;
    if (name === 'object' && domain.kind === 'object') continue;
    if (name === 'array' && domain.kind === 'array') continue;
    if (name === 'array' && domain.kind === 'object') {
      add(name, make, 'accept');
      continue;
    }
    if (name === 'null' && domain.kind === 'object') {
      // null options mean no options: as {} when the options may be omitted
      add(name, make, domain.optional ? 'likeEmpty' : 'reject');
      continue;
    }
    if (name === 'longString' && domain.kind === 'string' && domain.maxLength === undefined) {
      add(name, make, 'accept');
      continue;
    }
    add(name, make, judge(make()));
  }

  switch (domain.kind) {
    case 'number':
      for (const [name, value] of NUMBERS) add(name, () => value, judge(value));
      break;
    case 'bigint':
      for (const [name, value] of BIGINTS) add(name, () => value, judge(value));
      break;
    case 'enum':
      add('otherString', () => 'not-an-option', judge('not-an-option'));
      break;
    case 'typed':
      typedMutations(domain, good, add);
      break;
    case 'array':
      arrayMutations(path, domain, good, add, out);
      break;
    case 'object':
      objectMutations(path, domain, good, add, out);
      break;
    case 'instance':
      if (typeof good === 'object' && good !== null) add('forged', (g) => Object.create(Object.getPrototypeOf(g)), 'reject');
      break;
    default:
      break;
  }
  return out;
}

function typedMutations(domain: TypedArrayDomain, good: unknown, add: (what: string, make: (g: any) => unknown, e: Expectation) => void): void {
  if (!ArrayBuffer.isView(good)) return;
  const Class = good.constructor as new (...args: any[]) => any;
  const wrong = Object.keys(TYPED_CLASSES).find((name) => !domain.classes.includes(name))!;
  add('detached', (g: any) => {
    const copy = new Class(g);
    structuredClone(copy.buffer, { transfer: [copy.buffer] });
    return copy;
  }, 'reject');
  add('fake', (g: any) => fakeArray(g), 'reject');
  add('proxy', (g: any) => new Proxy(new Class(g), {}), 'reject');
  add(wrong, (g: any) => new TYPED_CLASSES[wrong]!(Array.from(g as ArrayLike<number>, Number)), 'reject');
  add('DataView', (g: any) => new DataView(new Class(g).buffer), 'reject');
  add('plainArray', (g: any) => Array.from(g as ArrayLike<number>), 'reject');
  add('empty', () => new Class(0), 'accept');
  add('shared', (g: any) => {
    const copy = new Class(new SharedArrayBuffer(g.byteLength));
    copy.set(g);
    return copy;
  }, 'equal');
  add('offset', (g: any) => {
    const bytes = g.BYTES_PER_ELEMENT as number;
    const copy = new Class(new ArrayBuffer(g.byteLength + 3 * bytes), bytes, g.length);
    copy.set(g);
    return copy;
  }, 'equal');
  add('resizable', (g: any) => {
    const copy = new Class(new (ArrayBuffer as any)(g.byteLength, { maxByteLength: g.byteLength + 64 }));
    copy.set(g);
    return copy;
  }, 'equal');
}

function fakeArray(good: ArrayLike<unknown>): ArrayLike<unknown> {
  const fake: Record<string | number, unknown> = { length: good.length };
  for (let i = 0; i < good.length; i++) fake[i] = good[i];
  return fake as unknown as ArrayLike<unknown>;
}

function arrayMutations(
  path: readonly (string | number)[],
  domain: ArrayDomain,
  good: unknown,
  add: (what: string, make: (g: any) => unknown, e: Expectation) => void,
  out: Mutation[],
): void {
  if (!Array.isArray(good) && !ArrayBuffer.isView(good)) return;
  const likeGood = domain.arrayLike ? 'equal' : 'accept';
  add('detachedTyped', () => {
    const copy = new Float64Array(4);
    structuredClone(copy.buffer, { transfer: [copy.buffer] });
    return copy;
  }, 'reject');
  add('hugeFake', () => ({ length: 2 ** 32 }), 'reject');
  if ((good as ArrayLike<unknown>).length > 0) {
    add('fake', (g: any) => fakeArray(g), likeGood);
    add('proxy', (g: any) => new Proxy(Array.from(g as ArrayLike<unknown>), {}), Array.isArray(good) ? 'equal' : likeGood);
    add('holey', (g: any) => {
      const copy = Array.from(g as ArrayLike<unknown>);
      delete copy[0];
      return copy;
    }, admits(domain.element, undefined) ? 'accept' : 'reject');
    if (Array.isArray(good)) add('frozen', (g: any) => Object.freeze([...g]), 'equal');
    if (domain.element.kind === 'number' && Array.isArray(good) && good.every((v) => typeof v === 'number')) {
      add('Float64Array', (g: any) => Float64Array.from(g), likeGood);
    }
    // every element domain's bad values, at index 0 (the first element checked)
    for (const m of mutations([...path, 0], domain.element, (good as ArrayLike<unknown>)[0])) {
      if (m.expect === 'likeEmpty') m.expect = 'accept';
      out.push({
        ...m,
        path,
        fieldPath: m.fieldPath ?? m.path,
        make: (g: any) => {
          const copy = Array.from(g as ArrayLike<unknown>);
          copy[0] = m.make(copy[0]);
          return Array.isArray(g) ? copy : ArrayBuffer.isView(g) ? copy : fakeArray(copy);
        },
      });
    }
  }
}

function objectMutations(
  path: readonly (string | number)[],
  domain: ObjectDomain,
  good: unknown,
  add: (what: string, make: (g: any) => unknown, e: Expectation) => void,
  out: Mutation[],
): void {
  if (typeof good !== 'object' || good === null) return;
  const source = good as Record<string, unknown>;
  add('frozen', (g: any) => Object.freeze({ ...g }), 'equal');
  add('sealed', (g: any) => Object.seal({ ...g }), 'equal');
  add('nullPrototype', (g: any) => Object.assign(Object.create(null), g), 'equal');
  add('getters', (g: any) => {
    const copy = {};
    for (const key of Object.keys(g)) Object.defineProperty(copy, key, { get: () => g[key], enumerable: true });
    return copy;
  }, 'equal');
  if (Object.keys(domain.fields).every((k) => domain.fields[k]!.optional)) add('empty', () => ({}), 'accept');
  for (const [key, field] of Object.entries(domain.fields)) {
    const fieldPath = [...path, key];
    if (key in source) {
      out.push({
        label: `${pathLabel(fieldPath)}=missing`,
        path,
        make: (g: any) => {
          const copy = { ...g };
          delete copy[key];
          return copy;
        },
        expect: field.optional ? 'accept' : 'reject',
        fieldPath,
        // a missing options object inside the options: its first missing required field is reported
        ...(field.kind === 'object' ? { alsoNames: Object.keys(field.fields).filter((k) => !field.fields[k]!.optional) } : {}),
      });
    }
    for (const m of mutations(fieldPath, field, source[key])) {
      out.push({
        ...m,
        path,
        make: (g: any) => ({ ...g, [key]: m.make(g[key]) }),
        expect: m.expect === 'likeEmpty' ? 'accept' : m.expect,
        fieldPath: m.fieldPath ?? m.path,
      });
    }
  }
}

export function pathLabel(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

// ---------------------------------------------------------------------------------------------
// Running a row.

export type FailureClass =
  | 'non-PrivkitError' // TypeError, RangeError, ... instead of a PrivkitError
  | 'accepted' // a value outside the domain returned a result
  | 'wrong-result' // a valid variant gave another result than the plain call
  | 'variant-failed' // a valid variant threw
  | 'argument' // a PrivkitError that names no argument or another one
  | 'message' // an unbounded message (input interpolated whole)
  | 'hang' // an async call did not settle in time, or a sync call took too long
  | 'broken' // the engine's health check failed after the row
  | 'stale-gap'; // a knownGaps pattern that no longer fails (remove it)

export interface Outcome {
  row: string;
  mutation: string;
  failure?: FailureClass;
  detail?: string;
  knownGap?: string;
}

export interface RowReport {
  row: string;
  calls: number;
  outcomes: Outcome[];
  skipped: Array<{ mutation: string; reason: string }>;
  ms: number;
}

const CALL_TIMEOUT_MS = 10_000;
const SLOW_CALL_MS = 3_000;
const MAX_MESSAGE = 2_000;

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

async function settle(thunk: () => unknown): Promise<Settled & { ms: number }> {
  const start = performance.now();
  try {
    let value = thunk();
    if (value instanceof Promise) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HangError()), CALL_TIMEOUT_MS);
      });
      try {
        value = await Promise.race([value, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    return { ok: true, value, ms: performance.now() - start };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - start };
  }
}

class HangError extends Error {}

function matchesPattern(pattern: string, label: string): boolean {
  if (pattern === '*') return true;
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(label);
}

function normalizeSegments(name: string): string[] {
  return name.replace(/\[[^\]]*\]/g, '').split('.').filter((s) => s !== '');
}

const OPTION_ROOTS = new Set(['opts', 'options', 'params', 'config']);

/** Whether an error's `argument` names the mutated value (its path, a suffix, or its last segment). */
function namesArgument(argument: string | undefined, path: readonly (string | number)[]): boolean {
  if (typeof argument !== 'string' || argument === '') return false;
  const want = normalizeSegments(pathLabel(path));
  const got = normalizeSegments(argument);
  if (got.length === 0 || want.length === 0) return false;
  const canon = (s: string) => (OPTION_ROOTS.has(s) ? 'opts' : s);
  const w = want.map(canon);
  const g = got.map(canon);
  // the value's own name, or a part of the argument that holds it (an error about a malformed
  // structure may name the structure: "a must be an EncryptedVector", "expectedParticipants[2] ..."),
  // or a field of the mutated object
  if (g[g.length - 1] === w[w.length - 1] || (w.length === 1 && g[0] === w[0])) return true;
  for (let start = 0; start + g.length <= w.length; start++) if (g.every((s, i) => s === w[start + i])) return true;
  return false;
}

export function describeValue(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message.slice(0, 300)}`;
  try {
    return String(value).slice(0, 200);
  } catch {
    return typeof value;
  }
}

/** Structural equality: typed arrays by class and contents, objects by own enumerable data (functions skipped). */
export function sameResult(a: unknown, b: unknown, depth = 0): boolean {
  if (Object.is(a, b)) return true;
  if (depth > 6) return true;
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Number.isNaN(a) && Number.isNaN(b as number);
  if (typeof a !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor) return false;
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i]) && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) return false;
    return true;
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!sameResult(v, b.get(k), depth + 1)) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a).filter((k) => typeof (a as any)[k] !== 'function');
  const keysB = Object.keys(b as object).filter((k) => typeof (b as any)[k] !== 'function');
  if (keysA.length !== keysB.length) return false;
  return keysA.every((k) => sameResult((a as any)[k], (b as any)[k], depth + 1));
}

function setAt(args: unknown[], path: readonly (string | number)[], make: (good: unknown) => unknown, params: readonly ArgSpec[]): unknown[] {
  const index = params.findIndex((p) => p.name === path[0]);
  const copy = [...args];
  while (copy.length <= index) copy.push(undefined);
  copy[index] = make(copy[index]);
  // a trailing undefined stays an explicit argument (as a caller passing undefined)
  return copy;
}

/**
 * Runs every mutation of a row and returns the outcomes. `healthy` is called once after the row and
 * must throw (or return false) when the engine no longer gives right answers.
 */
export async function runRow(row: Row, healthy: () => Promise<void> | void): Promise<RowReport> {
  const name = row.label ?? row.export;
  const started = performance.now();
  const outcomes: Outcome[] = [];
  const skipped: RowReport['skipped'] = [];
  let calls = 0;

  // a context no call has changed (row.stateOf): the next call's, instead of a fresh one
  let spare: unknown;
  const fresh = async () => {
    const ctx = spare ?? (row.setup ? await row.setup() : undefined);
    spare = undefined;
    return { ctx, args: row.args(ctx) };
  };
  const invoke = async (make: (args: unknown[]) => unknown[], label: string) => {
    const { ctx, args } = await fresh();
    const used = make(args);
    const before = row.stateOf?.(ctx);
    if (TRACE) appendFileSync(TRACE, `${name} ${label}\n`);
    calls++;
    const settled = await settle(() => row.call(used, ctx));
    if (row.stateOf && !settled.ok && settled.error instanceof PrivkitError && sameResult(row.stateOf(ctx), before)) spare = ctx;
    return { ...settled, ctx, args: used };
  };
  const observe = (value: unknown, args: unknown[], ctx: unknown) => (row.observe ? row.observe(value, args, ctx) : value);

  const plain = await invoke((args) => args, '(valid call)');
  if (!plain.ok) {
    outcomes.push({ row: name, mutation: '(valid call)', failure: 'variant-failed', detail: describeValue(plain.error) });
    return { row: name, calls, outcomes, skipped, ms: performance.now() - started };
  }
  const plainObserved = observe(plain.value, plain.args, plain.ctx);
  const good = await fresh();
  const goodArgs = good.args;
  if (row.stateOf) spare = good.ctx; // not called with: as fresh as a new one

  const all: Mutation[] = [];
  for (const param of row.params) {
    const index = row.params.indexOf(param);
    all.push(...mutations([param.name], param.domain, goodArgs[index]));
  }

  // the gap patterns that matched a failure (or a call not run); any other is stale
  const gapsSeen = new Set<string>();
  const gapFor = (label: string) => {
    for (const [pattern, gap] of Object.entries(row.knownGaps ?? {})) if (matchesPattern(pattern, label)) return { pattern, gap };
    return undefined;
  };

  const equalRun = new Set<string | number>();
  for (const m of all) {
    const na = Object.entries(row.notApplicable ?? {}).find(([pattern]) => matchesPattern(pattern, m.label));
    if (na) {
      skipped.push({ mutation: m.label, reason: na[1] });
      continue;
    }
    if (row.slow !== undefined && (m.expect === 'accept' || (m.expect === 'equal' && equalRun.has(m.path[0]!)))) {
      skipped.push({ mutation: m.label, reason: `valid value of a slow row: ${row.slow}` });
      continue;
    }
    if (m.expect === 'equal') equalRun.add(m.path[0]!);
    const found = gapFor(m.label);
    if (found !== undefined && typeof found.gap === 'object') {
      gapsSeen.add(found.pattern);
      skipped.push({ mutation: m.label, reason: `knownGap (not run): ${found.gap.reason}` });
      outcomes.push({ row: name, mutation: m.label, failure: 'hang', detail: 'not run', knownGap: found.gap.reason });
      continue;
    }
    const outcome = await judgeMutation(row, m, invoke, observe, plainObserved);
    if (outcome.failure !== undefined && found !== undefined) {
      gapsSeen.add(found.pattern);
      outcome.knownGap = found.gap as string;
    }
    outcomes.push({ row: name, mutation: m.label, ...outcome });
  }
  for (const pattern of Object.keys(row.knownGaps ?? {})) {
    if (!gapsSeen.has(pattern)) outcomes.push({ row: name, mutation: pattern, failure: 'stale-gap', detail: 'a knownGaps pattern with no failing call: remove it' });
  }

  try {
    if ((await healthy()) === (false as unknown)) throw new Error('health check returned false');
  } catch (error) {
    outcomes.push({ row: name, mutation: '(health after row)', failure: 'broken', detail: describeValue(error) });
  }
  return { row: name, calls, outcomes, skipped, ms: performance.now() - started };
}

async function judgeMutation(
  row: Row,
  m: Mutation,
  invoke: (make: (args: unknown[]) => unknown[], label: string) => Promise<Settled & { ms: number; ctx: unknown; args: unknown[] }>,
  observe: (value: unknown, args: unknown[], ctx: unknown) => unknown,
  plainObserved: unknown,
): Promise<Omit<Outcome, 'row' | 'mutation'>> {
  const fieldPath = m.fieldPath ?? m.path;
  const result = await invoke((args) => setAt(args, m.path, m.make, row.params), m.label);
  const slow = result.ms > SLOW_CALL_MS ? ` (took ${Math.round(result.ms)} ms)` : '';
  if (!result.ok) {
    const error = result.error;
    if (error instanceof HangError) return { failure: 'hang', detail: `no answer in ${CALL_TIMEOUT_MS} ms` };
    if (!(error instanceof PrivkitError)) return { failure: 'non-PrivkitError', detail: describeValue(error) };
    if (typeof error.code !== 'string' || !error.code.startsWith('E_')) return { failure: 'non-PrivkitError', detail: `no code: ${error.message}` };
    if (error.message.length > MAX_MESSAGE) return { failure: 'message', detail: `${error.message.length} characters` };
    if (slow) return { failure: 'hang', detail: `rejected${slow}` };
    if (m.expect === 'equal') return { failure: 'variant-failed', detail: describeValue(error) };
    const label = pathLabel(fieldPath);
    const aliases = Object.entries(row.aliases ?? {}).flatMap(([k, v]) => (label === k || label.startsWith(`${k}.`) || label.startsWith(`${k}[`) ? v : []));
    const names = [...(m.alsoNames ?? []), ...aliases];
    if (m.expect === 'reject' && !namesArgument(error.argument, fieldPath) && !names.some((n) => namesArgument(error.argument, [n]))) {
      return { failure: 'argument', detail: `argument ${JSON.stringify(error.argument)} for ${pathLabel(fieldPath)}: ${error.message.slice(0, 200)}` };
    }
    if (m.expect === 'likeEmpty') {
      const empty = await invoke((args) => setAt(args, m.path, () => ({}), row.params), `${m.label} (as {})`);
      if (empty.ok || !(empty.error instanceof PrivkitError) || empty.error.code !== error.code) {
        return { failure: 'variant-failed', detail: `null options gave ${describeValue(error)}, {} gave ${empty.ok ? 'a result' : describeValue(empty.error)}` };
      }
    }
    return {};
  }
  if (slow) return { failure: 'hang', detail: `returned${slow}` };
  switch (m.expect) {
    case 'reject':
      return { failure: 'accepted', detail: `returned ${describeValue(summary(result.value))}` };
    case 'accept':
      return {};
    case 'likeEmpty': {
      const empty = await invoke((args) => setAt(args, m.path, () => ({}), row.params), `${m.label} (as {})`);
      if (!empty.ok) return { failure: 'wrong-result', detail: `null options returned, {} threw ${describeValue(empty.error)}` };
      if (row.random !== undefined || sameResult(observe(result.value, result.args, result.ctx), observe(empty.value, empty.args, empty.ctx))) return {};
      // without options a call may draw from the CSPRNG: then only a repeatable {} call is compared.
      // A call with few possible results (six Bernoulli bits) repeats by chance, so {} is tried up to
      // three more times: a false failure needs four equal draws.
      for (let k = 0; k < 3; k++) {
        const again = await invoke((args) => setAt(args, m.path, () => ({}), row.params), `${m.label} (as {}, again)`);
        if (again.ok && !sameResult(observe(again.value, again.args, again.ctx), observe(empty.value, empty.args, empty.ctx))) return {};
      }
      return { failure: 'wrong-result', detail: 'null options and {} gave different results' };
    }
    case 'equal':
      if (row.random !== undefined) return {};
      if (!sameResult(observe(result.value, result.args, result.ctx), plainObserved)) {
        return { failure: 'wrong-result', detail: `differs from the plain call: ${describeValue(summary(result.value))}` };
      }
      return {};
  }
}

function summary(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (typeof value === 'object' && value !== null) return `{${Object.keys(value).slice(0, 6).join(', ')}}`;
  return describeValue(value);
}
