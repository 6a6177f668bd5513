// How each VDAF object was made: its factory's name and its (numeric) options, recorded by the
// factories (./variants.ts, ./bounded-l2.ts), so that a pool worker (./pool-ops.ts) can make the same
// VDAF again. A recipe is structured-cloneable; a VDAF not made by a factory has none.
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';

/** A VDAF's factory (an export of privkit/prio) and the options it was called with. */
export interface Prio3Recipe {
  factory: string;
  options: Record<string, number>;
}

const recipes = new WeakMap<object, Prio3Recipe>();

/** Records how `vdaf` was made: `factory` called with `opts` (every factory's options are numbers). */
export function made<V extends object>(factory: string, opts: object, vdaf: V): V {
  const options: Record<string, number> = {};
  for (const [key, value] of Object.entries(opts)) if (typeof value === 'number') options[key] = value;
  recipes.set(vdaf, { factory, options });
  return vdaf;
}

/** The recipe of a VDAF made by a privkit/prio factory; E_ARG naming `argument` for anything else. */
export function recipeOf(vdaf: unknown, argument: string): Prio3Recipe {
  const recipe = typeof vdaf === 'object' && vdaf !== null ? recipes.get(vdaf) : undefined;
  if (recipe === undefined) throw new PrivkitError('E_ARG', `${argument} must be a VDAF made by one of privkit/prio's factories (prio3Count, ...), got ${describe(vdaf)}`, { argument });
  return recipe;
}
