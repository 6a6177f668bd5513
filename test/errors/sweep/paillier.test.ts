// The bad-input sweep of privkit/paillier (run-entry.ts; rows and fixtures in entry-points.ts).
import { sweepEntry } from './run-entry.js';

sweepEntry('privkit/paillier');
