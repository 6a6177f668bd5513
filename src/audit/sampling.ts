// Runs a black-box mechanism many times on two neighbouring inputs and keeps every output, for the
// auditor (src/audit/mechanism.ts) on this thread and in pool workers alike. A mechanism is a
// function, or (so that worker threads can run it) a module export named by URL: each worker
// imports the module itself, since closures can not cross threads.
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { ready } from '../wasm/runtime.js';

/** One release of a mechanism under audit: a number, or a fixed-length array of numbers. */
export type MechanismOutput = number | ArrayLike<number>;
/** A mechanism under audit: one release on one input; it may return a Promise (e.g. an aggregator's round). */
export type MechanismFunction<I = unknown> = (input: I) => MechanismOutput | Promise<MechanismOutput>;

/**
 * A mechanism that pool workers can load: `module` is an absolute URL (e.g.
 * `new URL('./mechanisms.js', import.meta.url)`) whose export `export` is the mechanism, or, when
 * `args` is given, a factory that each worker calls once with `args` (structured-cloneable) to get
 * it. A mechanism seeded at module level repeats the same noise in every worker: in the pool,
 * mechanisms should draw from the CSPRNG.
 */
export interface MechanismModule {
  /** Absolute URL of the module (e.g. `new URL('./mechanisms.js', import.meta.url)`). */
  module: string | URL;
  /** The name of the export: the mechanism, or with `args` its factory. */
  export: string;
  /** Arguments (structured-cloneable) each worker calls the factory with once. */
  args?: unknown[];
}

/** Outputs of `trials` runs on each input, trial-major: run t on inputs[k] is rows k, t (`dimension` values). */
export interface Samples {
  dimension: number;
  trials: number;
  a: Float64Array;
  b: Float64Array;
}

/** Most output values kept per input (2^26 doubles = 512 MiB). */
export const MAX_SAMPLE_VALUES = 2 ** 26;

/** Checks a MechanismModule and returns its parts in cloneable form. */
export function checkMechanismModule(spec: unknown): { module: string; export: string; args?: unknown[] } {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new PrivkitError('E_ARG', `mechanism must be a function or { module, export }, got ${describe(spec)}`, { argument: 'mechanism' });
  }
  const { module, export: name, args } = spec as MechanismModule;
  if (typeof module !== 'string' && !(module instanceof URL)) {
    throw new PrivkitError('E_ARG', `mechanism.module must be a string or URL, got ${describe(module)}`, { argument: 'mechanism.module' });
  }
  let url: string;
  try {
    url = new URL(String(module)).href;
  } catch {
    throw new PrivkitError('E_ARG', `mechanism.module must be an absolute URL (e.g. new URL('./m.js', import.meta.url)), got ${module}`, {
      argument: 'mechanism.module',
    });
  }
  if (typeof name !== 'string' || name.length === 0) {
    throw new PrivkitError('E_ARG', `mechanism.export must be a non-empty string, got ${describe(name)}`, { argument: 'mechanism.export' });
  }
  if (args !== undefined && !Array.isArray(args)) {
    throw new PrivkitError('E_ARG', `mechanism.args must be an array, got ${describe(args)}`, { argument: 'mechanism.args' });
  }
  return args === undefined ? { module: url, export: name } : { module: url, export: name, args };
}

/** The mechanism function of a function or a MechanismModule (importing the module on this thread). */
export async function loadMechanism(mechanism: unknown): Promise<MechanismFunction> {
  if (typeof mechanism === 'function') return mechanism as MechanismFunction;
  const spec = checkMechanismModule(mechanism);
  let loaded: Record<string, unknown>;
  try {
    // a URL known only at run time: bundlers must leave this import to the runtime
    loaded = (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec.module)) as Record<string, unknown>;
  } catch (error) {
    throw new PrivkitError('E_ARG', `mechanism.module ${spec.module} could not be imported: ${messageOf(error)}`, {
      argument: 'mechanism.module',
      cause: error,
    });
  }
  await ready(); // the wasm modules of the families the mechanism's module imports (a pool worker may not have loaded them yet)
  let value = loaded[spec.export];
  if (spec.args !== undefined) {
    if (typeof value !== 'function') {
      throw new PrivkitError('E_ARG', `mechanism.export '${spec.export}' of ${spec.module} is not a function (factory), got ${describe(value)}`, {
        argument: 'mechanism.export',
      });
    }
    try {
      value = await (value as (...args: unknown[]) => unknown)(...spec.args);
    } catch (error) {
      throw new PrivkitError('E_ARG', `mechanism factory '${spec.export}' threw: ${messageOf(error)}`, { argument: 'mechanism.export', cause: error });
    }
  }
  if (typeof value !== 'function') {
    throw new PrivkitError('E_ARG', `mechanism.export '${spec.export}' of ${spec.module} is not a mechanism function, got ${describe(value)}`, {
      argument: 'mechanism.export',
    });
  }
  return value as MechanismFunction;
}

/**
 * Runs `mechanism` `trials` times on each input, alternating inputs[0] and inputs[1] so that any
 * drift in the mechanism's environment affects both alike. Every output must be a finite number or
 * an array-like of finite numbers of one fixed length.
 */
export async function collectSamples(mechanism: MechanismFunction, inputs: readonly [unknown, unknown], trials: number): Promise<Samples> {
  let dimension = 0;
  let a = new Float64Array(0);
  let b = new Float64Array(0);
  const row = new Float64Array(1);
  for (let t = 0; t < trials; t++) {
    for (let k = 0; k < 2; k++) {
      let output: MechanismOutput | Promise<MechanismOutput>;
      try {
        output = mechanism(inputs[k]);
        if (isThenable(output)) output = await output;
      } catch (error) {
        throw new PrivkitError('E_ARG', `mechanism threw on inputs[${k}] (trial ${t}): ${messageOf(error)}`, { argument: 'mechanism', cause: error });
      }
      let values: ArrayLike<number>;
      if (typeof output === 'number') {
        row[0] = output;
        values = row;
      } else values = output;
      if (dimension === 0) {
        dimension = outputLength(values, k, t);
        if (trials * dimension > MAX_SAMPLE_VALUES) {
          throw new PrivkitError('E_ARG', `trials x output length (${trials} x ${dimension}) must be <= 2^26`, { argument: 'trials' });
        }
        a = new Float64Array(trials * dimension);
        b = new Float64Array(trials * dimension);
      } else if (outputLength(values, k, t) !== dimension) {
        throw new PrivkitError('E_SHAPE', `mechanism returned ${describe(output)} on inputs[${k}] (trial ${t}), expected ${dimension} values`, {
          argument: 'mechanism',
        });
      }
      const target = k === 0 ? a : b;
      const offset = t * dimension;
      for (let j = 0; j < dimension; j++) {
        const v = values[j];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new PrivkitError('E_NONFINITE', `mechanism returned ${String(v)} at output[${j}] on inputs[${k}] (trial ${t}); outputs must be finite numbers`, {
            argument: 'mechanism',
            index: j,
          });
        }
        target[offset + j] = v;
      }
    }
  }
  return { dimension, trials, a, b };
}

function outputLength(values: unknown, k: number, t: number): number {
  const length = (values as ArrayLike<number> | null)?.length;
  if (typeof values !== 'object' || values === null || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1) {
    throw new PrivkitError('E_ARG', `mechanism must return a number or a non-empty array of numbers, got ${describe(values)} on inputs[${k}] (trial ${t})`, {
      argument: 'mechanism',
    });
  }
  return length;
}

function isThenable(value: unknown): value is Promise<MechanismOutput> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The samples of consecutive parts of the trials (e.g. one per pool worker) as one. */
export function concatSamples(parts: Samples[]): Samples {
  const dimension = parts[0]!.dimension;
  const trials = parts.reduce((sum, part) => sum + part.trials, 0);
  const a = new Float64Array(trials * dimension);
  const b = new Float64Array(trials * dimension);
  let offset = 0;
  for (const part of parts) {
    if (part.dimension !== dimension) {
      throw new PrivkitError('E_SHAPE', `mechanism returned ${part.dimension} values in one worker and ${dimension} in another`, { argument: 'mechanism' });
    }
    a.set(part.a, offset);
    b.set(part.b, offset);
    offset += part.a.length;
  }
  return { dimension, trials, a, b };
}
