// The pool's worker: announces that it is ready, then runs each request's part through the run of
// the operation of that family and name in the registry (src/registry.ts) and answers with the result, its
// fresh arrays moved rather than copied. A family's pool-run file is imported on its first request,
// and the wasm modules it declares are instantiated then (ready() loads every module declared so
// far), from the modules the pool's thread compiled when it sent them (with a worker's first
// requests), so a worker loads only the runs of the families it runs (never their plans) and, given
// their compiled modules, never their base64. An input that lies in a shared wasm memory is read in
// place, and a reducing call's partials are written in place (the last part reduces them: see
// PlanPartials): the worker gets each memory with the first request naming it, and keeps it until
// the pool's thread says to forget it (see MemoryRef). Errors go back as their fields (toWorkerError
// in src/errors.ts). Progress of a part, when asked for, goes back at most every PROGRESS_INTERVAL_MS.
import { PrivkitError, toWorkerError } from '../errors.js';
import { partRun } from '../registry.js';
import { describe, type FloatArray } from '../validate.js';
import { adoptModules, ready } from '../wasm/runtime.js';
import { adoptMemory, adoptSharedModules, THREAD_ID } from '../wasm/shared-memory.js';
import { poolWorkerPort } from './port.js';
import { freshBuffers, partialsLayout, plainArray, type Forget, type MemoryRef, type PartialsRequest, type Reply, type Request } from './protocol.js';
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
    if (request.reduce !== undefined) return reduceApart(run, request.id, request.reduce);
    const { allocate, inputMemory } = request;
    let input = request.input;
    if (inputMemory !== undefined) {
      const memory = memoryOf(inputMemory);
      input = viewOf(inputMemory, memory) ?? input;
      if (input !== undefined) adoptMemory(input, memory);
    }
    const output = request.output ?? (request.inPlace ? input : allocate && plainArray(allocate.dtype, allocate.length));
    const partials = request.partials && partialsOf(request.partials);
    const value = await run(request.task, { input, output, partial: partials?.row }, progressOf(request));
    partials?.finish(run);
    const sentBack = request.output === undefined ? output : undefined;
    const partial = partials?.staged === false ? partials.row : undefined;
    send({ kind: 'done', id: request.id, value, output: sentBack, partial }, freshBuffers([value, sentBack, partial]));
  } catch (error) {
    send({ kind: 'error', id: request.id, error: toWorkerError(error) });
  }
}

/** The memory a request names: sent with it, or kept from an earlier one. */
function memoryOf(ref: MemoryRef): WebAssembly.Memory {
  const memory = ref.memory ?? memories.get(ref.id);
  if (memory === undefined) throw new PrivkitError('E_WORKER', `the pool worker was not sent the memory ${ref.id} of its request`);
  memories.set(ref.id, memory);
  return memory;
}

/** The view a request sends as its place in `memory`, if it does. */
function viewOf({ place }: MemoryRef, memory: WebAssembly.Memory): FloatArray | undefined {
  return place && new (place.dtype === 'float64' ? Float64Array : Float32Array)(memory.buffer, place.byteOffset, place.length);
}

/**
 * A part's partials: its row, and `finish`, called once the row is written. With shared staging,
 * the part that finishes last (the call's Int32 counter counts arrivals) reduces every part's row
 * into the reduced row, in part order, with the operation's reduce; without it, the row is made
 * here and sent back.
 */
function partialsOf({ index, parts, length, dtype, staging, memory }: PartialsRequest): { row: FloatArray; staged: boolean; finish(run: PartRun<unknown, unknown>): void } {
  let rows = staging;
  if (memory !== undefined) {
    const wasmMemory = memoryOf(memory);
    rows = viewOf(memory, wasmMemory);
    if (rows !== undefined) adoptMemory(rows, wasmMemory);
  }
  if (rows === undefined) return { row: plainArray(dtype, length), staged: false, finish() {} };
  const all = rows;
  const layout = partialsLayout(parts, length);
  const arrivals = new Int32Array(all.buffer, all.byteOffset + layout.counter * all.BYTES_PER_ELEMENT, 1);
  return {
    row: all.subarray(index * length, (index + 1) * length),
    staged: true,
    finish(run) {
      if (parts > 1 && Atomics.add(arrivals, 0, 1) === parts - 1) reduceWith(run, all.subarray(0, layout.reduced), parts, all.subarray(layout.reduced, layout.reduced + length));
    },
  };
}

/** Without shared memory: the parts' rows, sent back by their workers, reduced here in one more request. */
function reduceApart(run: PartRun<unknown, unknown>, id: number, { partials, parts }: { partials: FloatArray; parts: number }): void {
  const into = plainArray(partials instanceof Float64Array ? 'float64' : 'float32', partials.length / parts);
  reduceWith(run, partials, parts, into);
  send({ kind: 'done', id, value: into }, [into.buffer as ArrayBuffer]);
}

function reduceWith(run: PartRun<unknown, unknown>, partials: FloatArray, parts: number, into: FloatArray): void {
  if (run.reduce === undefined) throw new PrivkitError('E_WORKER', 'the pooled operation has partials but no reduce');
  run.reduce(partials, parts, into);
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
