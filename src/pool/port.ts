// The pool worker's channel to the pool. It is found at run time rather than through `#platform`,
// because some recipes serve the worker's modules as they are (a copy of dist/src, an import map):
// a module worker sees no import map, so its module graph must hold relative imports only. Node's
// worker_threads comes from process.getBuiltinModule (Node >= 20.16), an expression no bundler
// tries to resolve for the browser; elsewhere the worker's global scope is the channel.

/** Inside a pool worker: its channel to the pool. */
export interface WorkerPort {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  listen(receive: (data: unknown) => void): void;
}

/** What this module uses of Node's worker_threads. */
interface NodeParentPort {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (data: unknown) => void): void;
}

/** What this module uses of a Web Worker's global scope. */
interface WorkerScope {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** The channel of the pool worker this code runs in. */
export function poolWorkerPort(): WorkerPort {
  const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof nodeProcess?.getBuiltinModule === 'function') {
    const { parentPort } = nodeProcess.getBuiltinModule('node:worker_threads') as { parentPort: NodeParentPort | null };
    if (parentPort === null) throw new Error('the pool worker must run in a worker thread');
    return {
      post: (message, transfer) => parentPort.postMessage(message, transfer),
      listen: (receive) => parentPort.on('message', receive),
    };
  }
  const scope = globalThis as unknown as WorkerScope;
  return {
    post: (message, transfer = []) => scope.postMessage(message, transfer),
    listen: (receive) => scope.addEventListener('message', (event) => receive(event.data)),
  };
}
