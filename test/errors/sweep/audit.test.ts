// The bad-input sweep of privkit/audit (run-entry.ts; rows and fixtures in entry-points.ts).
import { sweepEntry } from './run-entry.js';

sweepEntry('privkit/audit');
