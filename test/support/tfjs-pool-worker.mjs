// A pool worker script for tfjs models (flModel) on the cpu backend, as a user writes it: a backend,
// then privkit/tfjs/worker (test/tfjs/fl-model.test.ts).
import '@tensorflow/tfjs-backend-cpu';
import 'privkit/tfjs/worker';
