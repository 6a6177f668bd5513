// A bare worker thread for ./kernel-ceiling.ts: the library's sync kernels on rows of a shared input,
// with no pool in between. It is given the kernels module compiled by the main thread and the input's
// wasm memory (so the kernel reads the rows in place, as a pool worker does), then runs one kernel
// call per message on the rows it names and answers when the call started and ended (ms since the
// epoch, comparable across threads).
import { parentPort } from 'node:worker_threads';
import { clipAndSum, weightedMean } from '../src/index.js';
import { adoptModules, ready } from '../src/wasm/runtime.js';
import { adoptMemory, adoptSharedModules } from '../src/wasm/shared-memory.js';

export interface CeilingInit {
  modules: Record<string, WebAssembly.Module>;
  sharedModules: Record<string, WebAssembly.Module>;
  memory: WebAssembly.Memory;
  byteOffset: number;
  length: number;
}

export interface CeilingCall {
  kernel: 'clipAndSum' | 'weightedMean';
  cols: number;
  row: number;
  rows: number;
  /** clipAndSum's bound, or weightedMean's weights (of all rows). */
  maxNorm?: number;
  weights?: Float32Array;
}

const port = parentPort!;
let x: Float32Array | undefined;
const now = () => performance.timeOrigin + performance.now();

port.on('message', async (message: CeilingInit | CeilingCall) => {
  if ('memory' in message) {
    adoptModules(message.modules);
    adoptSharedModules(message.sharedModules);
    await ready();
    x = new Float32Array(message.memory.buffer, message.byteOffset, message.length);
    adoptMemory(x, message.memory);
    return port.postMessage(0);
  }
  const { kernel, cols, row, rows } = message;
  const part = x!.subarray(row * cols, (row + rows) * cols);
  const start = now();
  if (kernel === 'clipAndSum') clipAndSum(part, rows, message.maxNorm!);
  else weightedMean(part, rows, message.weights!.subarray(row, row + rows));
  port.postMessage({ start, end: now() });
});
