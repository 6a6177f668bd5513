// The bad-input sweep of privkit/dp (run-entry.ts; rows and fixtures in entry-points.ts).
import { sweepEntry } from './run-entry.js';

sweepEntry('privkit/dp');
