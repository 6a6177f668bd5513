// The pool's worker: announces that it is ready, then runs each request's part through the run of
// the operation of that family and name in the registry (src/registry.ts) and answers with the result, its
// fresh arrays moved rather than copied. A family's pool-run file is imported on its first request,
// and the wasm modules it declares are instantiated then (ready() loads every module declared so
// far), from the modules the pool's thread compiled when it sent them (with a worker's first
// requests), so a worker loads only the runs of the families it runs (never their plans) and, given
// their compiled modules, never their base64. An
// input that lies in a shared wasm memory is read in place: the worker gets that memory with the
// first request naming it, and keeps it until the pool's thread says to forget it (see
// Request.inputMemory). Errors go back as their fields (toWorkerError in src/errors.ts). Progress of a part, when
// asked for, goes back at most every PROGRESS_INTERVAL_MS.
import { PrivkitError, toWorkerError } from '../errors.js';
import { partRun } from '../registry.js';
import { describe } from '../validate.js';
import { adoptModules, ready } from '../wasm/runtime.js';
import { adoptMemory, adoptSharedModules, THREAD_ID } from '../wasm/shared-memory.js';
import { poolWorkerPort } from './port.js';
import { freshBuffers, plainArray, type Forget, type Reply, type Request } from './protocol.js';
import type { PartRun } from './types.js';

/** Least time between two progress messages of one part. */
const PROGRESS_INTERVAL_MS = 20;

const port = poolWorkerPort();
/** The shared wasm memories of inputs, by the id the pool's thread gave each, until it says to forget one. */
const memories = new Map<number, WebAssembly.Memory>();
const send = (reply: Reply, transfer: ArrayBuffer[] = []) => port.post(reply, transfer);

/**
 * The run of the registered operation the request names (its family and name), with the wasm modules of its family
 * instantiated (from the modules compiled by the pool's thread, when it sent them).
 */
async function runOf(request: Request): Promise<PartRun<unknown, unknown>> {
  const { operation: name, family, modules, sharedModules } = request;
  const run = await partRun(family, name);
  if (typeof run !== 'function') throw new PrivkitError('E_ARG', `no pool operation is registered as ${describe(name)}`, { argument: 'operation' });
  if (modules !== undefined) adoptModules(modules);
  if (sharedModules !== undefined) adoptSharedModules(sharedModules);
  await ready();
  return run as PartRun<unknown, unknown>;
}

/** The progress callback of a request: throttled messages when asked for, else nothing. */
function progressOf(request: Request): (done: number) => void {
  if (request.progress !== true) return () => {};
  let last = performance.now();
  return (done) => {
    const now = performance.now();
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    send({ kind: 'progress', id: request.id, done });
  };
}

async function serve(request: Request): Promise<void> {
  try {
    const run = await runOf(request);
    const { allocate, inputMemory } = request;
    let input = request.input;
    if (inputMemory !== undefined) {
      const memory = inputMemory.memory ?? memories.get(inputMemory.id);
      if (memory === undefined) throw new PrivkitError('E_WORKER', `the pool worker was not sent the memory ${inputMemory.id} of its input`);
      memories.set(inputMemory.id, memory);
      const { place } = inputMemory;
      if (place !== undefined) input = new (place.dtype === 'float64' ? Float64Array : Float32Array)(memory.buffer, place.byteOffset, place.length);
      if (input !== undefined) adoptMemory(input, memory);
    }
    const output = request.output ?? (request.inPlace ? input : allocate && plainArray(allocate.dtype, allocate.length));
    const value = await run(request.task, { input, output }, progressOf(request));
    const sentBack = request.output === undefined ? output : undefined;
    send({ kind: 'done', id: request.id, value, output: sentBack }, freshBuffers([value, sentBack]));
  } catch (error) {
    send({ kind: 'error', id: request.id, error: toWorkerError(error) });
  }
}

ready().then(
  () => {
    port.listen((data) => {
      const message = data as Request | Forget;
      if ('forget' in message) memories.delete(message.forget);
      else void serve(message);
    });
    send({ kind: 'ready', thread: THREAD_ID });
  },
  (error: unknown) => send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
);
