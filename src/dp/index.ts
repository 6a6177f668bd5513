// privkit/dp: randomness and noise for differential privacy.
export { createRng } from './rng.js';
export type { Rng, RngOptions } from './rng.js';
