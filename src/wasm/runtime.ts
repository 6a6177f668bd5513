// The wasm engine: several modules (kernels, rng, dp, paillier: one entry file assembly/<module>.ts
// each), each embedded as a string of one character a byte and declared by the family that uses it (src/<family>/wasm.ts)
// with defineModule. Declaring registers the module; ready() instantiates every registered one. A
// family's kernels import its declaration, so a bundle carries exactly the modules its imports reach,
// and `ready()` loads exactly those. A declaration names its bytes by a dynamic import of the
// generated file, taken only when the module is compiled here: a bundler makes it a chunk of its
// own, which a pool worker given the module compiled by its pool's thread never loads.
// Each module has its own instance, memory and arena, loaded once per thread; a pool worker uses the
// modules its pool's thread compiled (compiledModules / adoptModules) rather than compiling them again. Kernel calls run
// inside an arena scope (withWasm); traps (WebAssembly.RuntimeError) become PrivkitError E_WASM, and
// the arena is released either way, so a failed call leaves the engine ready for the next one.
// WebAssembly memory can grow but never shrink. A call that left a module's memory above
// RETAINED_BYTES (only unusual calls do: kernels stage their data through windows of 1 MiB) makes
// the engine replace that module's instance by a fresh one, compiled module reused, as soon as the
// thread is idle (after the current task): the old instance and its memory are then garbage.
// Kernels keep no state in wasm memory between calls, so the swap is invisible except for the
// memory it frees.
import { PrivkitError } from '../errors.js';
import { Arena } from './arena.js';

/** Wasm memory a module keeps after a call (16 MiB); above it the instance is renewed when idle. */
export const RETAINED_BYTES = 16 << 20;

/** What every module exports (besides its kernels): its memory and where its arena starts. */
export interface ModuleExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
}

/** The module's bytes as an embedded string: a dynamic import of its generated file (src/wasm/generated/<name>-wasm.js). */
export type WasmSource = () => Promise<{ readonly WASM_BYTES: string }>;

/** The bindings asc generates for a module: instantiates it and adapts its exports. */
export type Instantiate<K extends ModuleExports> = (module: WebAssembly.Module, imports: Record<string, never>) => Promise<K>;

interface Engine<K> {
  module: WebAssembly.Module;
  kernels: K;
  arena: Arena;
}

/** A wasm module, as declared by defineModule: loaded by ready(), used through withWasm. */
export interface WasmModule<K extends ModuleExports> {
  /** The module's name (its entry file is assembly/<name>.ts). */
  readonly name: string;
  /** True once instantiated in this thread. */
  readonly loaded: boolean;
  /** Compiles and instantiates the module (once per thread; a failed load may be retried). */
  load(): Promise<void>;
  /** Runs `body` with the kernels and the arena (see withWasm). */
  run<T>(body: (kernels: K, arena: Arena) => T): T;
  /** Resolves when a pending renewal of the instance is done. */
  settled(): Promise<void>;
}

class Module<K extends ModuleExports> implements WasmModule<K> {
  private engine: Engine<K> | undefined;
  private loading: Promise<void> | undefined;
  private renewing: Promise<void> | undefined;
  /** The module as compiled by another thread, used instead of compiling it here. */
  private adopted: WebAssembly.Module | undefined;

  constructor(
    readonly name: string,
    private readonly source: WasmSource,
    private readonly instantiate: Instantiate<K>,
  ) {}

  load(): Promise<void> {
    this.loading ??= this.compile().catch((cause: unknown) => {
      this.loading = undefined;
      throw cause instanceof PrivkitError
        ? cause
        : new PrivkitError('E_WASM', `could not instantiate the ${this.name} wasm module: ${String(cause)}`, { cause });
    });
    return this.loading;
  }

  get loaded(): boolean {
    return this.engine !== undefined;
  }

  run<T>(body: (kernels: K, arena: Arena) => T): T {
    const engine = this.engine;
    if (engine === undefined) {
      throw new PrivkitError('E_NOT_READY', 'call `await ready()` before using the sync kernels');
    }
    const { module, kernels, arena } = engine;
    const mark = arena.open();
    try {
      return body(kernels, arena);
    } catch (error) {
      throw kernelFailure(error);
    } finally {
      arena.close(mark);
      if (arena.idle && arena.memoryBytes > RETAINED_BYTES) this.renew(module);
    }
  }

  settled(): Promise<void> {
    return this.renewing ?? Promise.resolve();
  }

  /** The compiled module, once loaded in this thread. */
  get compiled(): WebAssembly.Module | undefined {
    return this.engine?.module;
  }

  /** Uses `module`, compiled by another thread of this program, when this one has not started loading. */
  adopt(module: WebAssembly.Module): void {
    if (this.loading === undefined && module instanceof WebAssembly.Module) this.adopted = module;
  }

  private async compile(): Promise<void> {
    if (this.adopted !== undefined) {
      this.engine = await this.instance(this.adopted);
      return;
    }
    this.engine = await this.instance(await compileSource(this.source));
  }

  private async instance(module: WebAssembly.Module): Promise<Engine<K>> {
    const kernels = await this.instantiate(module, {});
    return { module, kernels, arena: new Arena(kernels.memory, kernels.heapBase()) };
  }

  /** Swaps in a fresh instance once it is ready (no call can be in progress then: calls are synchronous). */
  private renew(module: WebAssembly.Module): void {
    this.renewing ??= this.instance(module)
      .then((fresh) => {
        if (this.engine?.arena.idle === true) this.engine = fresh;
      })
      .catch(() => {}) // keep the current instance
      .finally(() => {
        this.renewing = undefined;
      });
  }
}

/** The modules declared so far in this thread, in declaration order. */
const registered: WasmModule<ModuleExports>[] = [];

/**
 * Declares a wasm module (from the family that uses it, src/<family>/wasm.ts) and registers it, so
 * that ready() loads it. `source` imports the module's bytes, `instantiate` is its generated bindings.
 */
export function defineModule<K extends ModuleExports>(name: string, source: WasmSource, instantiate: Instantiate<K>): WasmModule<K> {
  const module = new Module(name, source, instantiate);
  registered.push(module);
  return module;
}

/** The modules loaded in this thread, compiled, by name: a pool hands them to its workers, which then compile none. */
export function compiledModules(): Record<string, WebAssembly.Module> {
  const compiled: Record<string, WebAssembly.Module> = {};
  for (const module of registered as Module<ModuleExports>[]) if (module.compiled !== undefined) compiled[module.name] = module.compiled;
  return compiled;
}

/** Uses the modules compiled by another thread (see compiledModules) for those declared here and not loading yet. */
export function adoptModules(modules: Record<string, WebAssembly.Module>): void {
  for (const module of registered as Module<ModuleExports>[]) {
    const compiled = Object.hasOwn(modules, module.name) ? modules[module.name] : undefined;
    if (compiled !== undefined) module.adopt(compiled);
  }
}

/** True for a module declared by defineModule (the engine's own, not a look-alike). */
export function isWasmModule(value: unknown): value is WasmModule<ModuleExports> {
  return registered.includes(value as WasmModule<ModuleExports>);
}

/** The registered modules (for tests). */
export function registeredModules(): readonly WasmModule<ModuleExports>[] {
  return registered;
}

/** What ready() waits for besides the modules: the loads registered with loadWhenReady, in order. */
const preloads: Array<() => Promise<void>> = [];

/** Makes ready() also wait for `load` (e.g. the compiling of a module built for shared memory, src/wasm/shared-memory.ts). */
export function loadWhenReady(load: () => Promise<void>): void {
  preloads.push(load);
}

/** The last call's promise, and how many loads were registered then (a module registered later is loaded by the next call). */
let loading: { promise: Promise<void>; loads: number } | undefined;

/**
 * Compiles and instantiates the wasm modules of every family imported so far (once per thread).
 * Every sync kernel needs this first; later calls return the same promise until another family's
 * module is imported, and a failed load may be retried by calling again.
 *
 * @throws {PrivkitError} E_WASM (as a rejection) when the runtime lacks WebAssembly or fixed-width SIMD, or a module fails to instantiate.
 *
 * @example
 * ```ts
 * import { ready, l2Norms } from 'privkit';
 * await ready();
 * const norms = l2Norms(new Float32Array([3, 4, 6, 8]), 2); // [5, 10]
 * ```
 */
export function ready(): Promise<void> {
  const loads = registered.length + preloads.length;
  if (loading === undefined || loading.loads !== loads) {
    const call = { promise: Promise.all([...registered.map((module) => module.load()), ...preloads.map((load) => load())]).then(() => {}), loads };
    call.promise.catch(() => {
      if (loading === call) loading = undefined;
    });
    loading = call;
  }
  return loading.promise;
}

/** True when every registered module is loaded. */
export function isReady(): boolean {
  return registered.every((module) => module.loaded);
}

/** Resolves when the pending renewals of every module's instance (see the header) are done: for tests. */
export async function settled(): Promise<void> {
  await Promise.all(registered.map((module) => module.settled()));
}

/**
 * Runs `body` with the kernels and the arena of `module`; memory allocated inside is released
 * afterwards. `body` must not keep arena views past its return.
 *
 * @throws {PrivkitError} E_NOT_READY before `await ready()`; E_WASM when a kernel traps.
 */
export function withWasm<K extends ModuleExports, T>(module: WasmModule<K>, body: (kernels: K, arena: Arena) => T): T {
  return module.run(body);
}

/** The error a kernel call throws for `error`: E_WASM for a trap or a failed growth, else `error` itself. */
export function kernelFailure(error: unknown): unknown {
  if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) {
    return new PrivkitError('E_WASM', `wasm kernel failed: ${error.message}`, { cause: error });
  }
  return error;
}

/** Compiles the module `source` imports: E_WASM when the runtime lacks the fixed-width SIMD it uses. */
export async function compileSource(source: WasmSource): Promise<WebAssembly.Module> {
  const bytes = decodeByteString((await source()).WASM_BYTES);
  if (!WebAssembly.validate(bytes)) {
    throw new PrivkitError('E_WASM', 'this runtime does not support WebAssembly SIMD (fixed-width v128)');
  }
  return WebAssembly.compile(bytes);
}

/** The bytes of a module embedded as a string of one character a byte (scripts/build.mjs). */
function decodeByteString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
