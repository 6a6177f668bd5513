// Small valid inputs shared by the sweep's rows: a seeded generator (so a call and its variants draw
// the same randomness), a 2 x 3 float32 matrix, and the like.
import { createRng, type Rng } from 'privkit/dp';

/** A fresh reproducible generator: every call of a row and its variants draws the same keystream. */
export const seeded = (stream = 0): Rng => createRng({ seed: new Uint8Array(32).fill(7), stream });
/** A 2 x 3 matrix whose first row is clipped at norm 1. */
export const matrix = (): Float32Array => Float32Array.of(3, 4, 0, 0.1, 0.2, 0.3);
export const seedBytes = (fill = 9): Uint8Array => new Uint8Array(32).fill(fill);
