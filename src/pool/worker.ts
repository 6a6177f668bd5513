// The pool's worker: instantiates the wasm engine in its own thread, announces that it is ready,
// then runs each request's part through the operation of that name in the registry
// (src/registry.ts) and answers with the result, its fresh arrays moved rather than copied. Errors
// go back as their fields (./errors.ts).
import { platform } from '#platform';
import { PrivkitError } from '../errors.js';
import { operations } from '../registry.js';
import { ready } from '../wasm/runtime.js';
import { toWorkerError } from './errors.js';
import { plainArray } from './memory.js';
import { freshBuffers, type Reply, type Request } from './protocol.js';
import type { PoolOperation } from './types.js';

const port = platform.poolWorkerPort();
const send = (reply: Reply, transfer: ArrayBuffer[] = []) => port.post(reply, transfer);

/** The registered operation called `name`. */
function operationNamed(name: string): PoolOperation<never, unknown, unknown, unknown> {
  if (!Object.hasOwn(operations, name)) throw new PrivkitError('E_ARG', `no pool operation is registered as '${name}'`, { argument: 'operation' });
  return operations[name as keyof typeof operations] as unknown as PoolOperation<never, unknown, unknown, unknown>;
}

async function serve(request: Request): Promise<void> {
  try {
    const operation = operationNamed(request.operation);
    const { input, allocate } = request;
    const output = request.output ?? (request.inPlace ? input : allocate && plainArray(allocate.dtype, allocate.length));
    const value = await operation.run(request.task, { input, output });
    const sentBack = request.output === undefined ? output : undefined;
    send({ kind: 'done', id: request.id, value, output: sentBack }, freshBuffers([value, sentBack]));
  } catch (error) {
    send({ kind: 'error', id: request.id, error: toWorkerError(error) });
  }
}

ready().then(
  () => {
    port.listen((data) => void serve(data as Request));
    send({ kind: 'ready' });
  },
  (error: unknown) => send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
);
