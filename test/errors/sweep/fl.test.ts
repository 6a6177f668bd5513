// The bad-input sweep of privkit/fl (run-entry.ts; rows and fixtures in entry-points.ts).
import { sweepEntry } from './run-entry.js';

sweepEntry('privkit/fl');
