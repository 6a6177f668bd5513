// The bad-input sweep of privkit/protect (run-entry.ts; rows and fixtures in entry-points.ts).
import { sweepEntry } from './run-entry.js';

sweepEntry('privkit/protect');
