// The keystream source of the references that replay a wasm kernel's randomness (discrete-gaussian.ts,
// secure-noise.ts), checked at the boundary; internal to privkit/reference (not re-exported).
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { typedArrayKind } from '../wasm/boundary.js';

/** The kernel's randomness, read in order: raw keystream bytes, or a full-precision uniform (the generator's nextUniform). */
export interface KeystreamSource {
  /** The next n keystream bytes. */
  bytes(n: number): Uint8Array;
  /** The next full-precision uniform double in (0, 1). */
  uniform(): number;
}

/** `source` checked to have both methods, wrapped so that what they return is checked too (E_ARG naming `source`). */
export function checkedSource(source: unknown): KeystreamSource {
  const s = source as Partial<KeystreamSource> | null;
  if (typeof s !== 'object' || s === null) {
    throw new PrivkitError('E_ARG', `source must be an object with bytes(n) and uniform() methods, got ${describe(source)}`, { argument: 'source' });
  }
  for (const method of ['bytes', 'uniform'] as const) {
    if (typeof s[method] !== 'function') throw new PrivkitError('E_ARG', `source.${method} must be a function, got ${describe(s[method])}`, { argument: `source.${method}` });
  }
  const bad = (what: string) => new PrivkitError('E_ARG', `source.${what}`, { argument: 'source' });
  return {
    bytes: (n) => {
      const out: unknown = s.bytes!(n);
      if (typedArrayKind(out) !== 'Uint8Array' || (out as Uint8Array).length !== n) throw bad(`bytes(${n}) must return a Uint8Array of ${n} bytes, got ${describe(out)}`);
      return out as Uint8Array;
    },
    uniform: () => {
      const u: unknown = s.uniform!();
      if (typeof u !== 'number' || !(u > 0 && u <= 1)) throw bad(`uniform() must return a number in (0, 1], got ${describe(u)}`);
      return u;
    },
  };
}
