// The wasm engine is split into modules (assembly/<module>.ts), each declared by its family
// (src/<family>/wasm.ts): every module exports exactly its own kernels; ready() loads every
// declared module, also one declared after an earlier ready(), and loads a module another thread
// compiled without compiling it; a bundle that imports one kernel carries only that kernel's module
// (with its build for shared memory). This file imports only the kernels family at first (vitest
// gives each test file its own module graph), so it sees the other modules being declared.
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../scripts/bundle-size.mjs';
import { kernelsWasm } from '../../dist/src/kernels/wasm.js';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { expectPrivkitError } from '../support/helpers.js';

/** Each module's bytes as embedded in the package: a string of one character a byte. */
const MODULES = ['kernels', 'kernels-shared', 'rng', 'dp', 'paillier', 'protect', 'tfjs'] as const;
async function embedded(name: (typeof MODULES)[number]): Promise<string> {
  return ((await import(`../../dist/src/wasm/generated/${name}-wasm.js`)) as { WASM_BYTES: string }).WASM_BYTES;
}

/**
 * The embedded modules in a bundled file: each string literal starting with the wasm magic
 * (\0asm), however the bundler re-quoted or re-escaped it, evaluated as the JavaScript it is.
 */
function embeddedModules(file: Buffer): string[] {
  const code = file.toString('utf8');
  return [...code.matchAll(/([`'"])\\(?:x00|0|u0000)asm/g)].map((start) => {
    let end = start.index + 1;
    while (code[end] !== start[1]) end += code[end] === '\\' ? 2 : 1;
    return new Function(`return ${code.slice(start.index, end + 1)}`)() as string;
  });
}

describe('each module exports exactly its own kernels', () => {
  const EXPORTS: Record<(typeof MODULES)[number], string[]> = {
    kernels: ['firstNonFinite', 'sumSquaresRows', 'scaleRows', 'clampValues', 'accumulateRows'],
    'kernels-shared': ['firstNonFinite', 'sumSquaresRows', 'scaleRows', 'clampValues', 'accumulateRows'],
    rng: ['chachaBytes', 'uniformDoubles', 'generatorBytes'],
    dp: [
      ...['wipeScratch', 'firstNonFinite', 'chachaBytes'],
      ...['gaussianFill64', 'gaussianFill32', 'laplaceFill64', 'laplaceFill32', 'gaussianAdd64', 'gaussianAdd32', 'laplaceAdd64', 'laplaceAdd32'],
      ...['secureLaplaceLattice', 'secureLaplaceTable', 'secureGaussianLattice', 'discreteGaussianFill', 'discreteGaussianAcceptance', 'zigguratNormalTables'],
      ...['andWords', 'addKeystreams', 'addWords', 'hadamardRotate', 'hadamardSigns', 'hadamardBlock', 'hadamardSpans', 'quantizeChunk'],
    ],
    paillier: ['montPow', 'montPowScratchBytes', 'montPowSecret', 'montPowSecretScratchBytes', 'secretWindowBits', 'montCounters'],
    protect: ['sha256', 'hmacKeyStates', 'hmacStart', 'hmacAbsorb', 'hmacFinish', 'hmacTokens', 'hmacWorkBytes'],
    tfjs: ['weightedOuterSum'],
  };

  for (const name of MODULES) {
    it(name, async () => {
      const bytes = Buffer.from(await embedded(name), 'latin1');
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((entry) => entry.name);
      expect(exports.sort()).toEqual(['memory', 'heapBase', ...EXPORTS[name]].sort());
    });
  }

  it('the shared build imports its memory (shared, declared as one page at least) and imports nothing else', async () => {
    const module = new WebAssembly.Module(Buffer.from(await embedded('kernels-shared'), 'latin1'));
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    expect(() => new WebAssembly.Instance(module, { env: { memory } })).not.toThrow();
    const unshared = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    expect(() => new WebAssembly.Instance(module, { env: { memory: unshared } })).toThrow(WebAssembly.LinkError);
  });
});

describe('ready() loads every declared module', () => {
  it('only the modules of the imported families are declared, and ready() loads them; a module declared later is loaded by the next ready()', async () => {
    expect(runtime.registeredModules().map((module) => module.name)).toEqual(['kernels']);
    expect(runtime.isReady()).toBe(false);
    expectPrivkitError(() => runtime.withWasm(kernelsWasm, () => 0), 'E_NOT_READY');

    const first = runtime.ready();
    expect(runtime.ready()).toBe(first); // nothing declared meanwhile: the same promise
    await first;
    expect(kernelsWasm.loaded).toBe(true);
    expect(runtime.isReady()).toBe(true);
    const kernelsMemory = runtime.withWasm(kernelsWasm, (kernels) => kernels.memory);

    // importing a family's declaration declares its module
    const { paillierWasm } = await import('../../dist/src/paillier/wasm.js');
    expect(runtime.registeredModules().map((module) => module.name)).toEqual(['kernels', 'paillier']);
    expect(runtime.isReady()).toBe(false);
    expectPrivkitError(() => runtime.withWasm(paillierWasm, () => 0), 'E_NOT_READY');
    const second = runtime.ready();
    expect(second).not.toBe(first);
    await second;
    expect(paillierWasm.loaded).toBe(true);
    expect(runtime.withWasm(paillierWasm, (kernels) => kernels.secretWindowBits(1024))).toBeGreaterThan(0);
    expect(runtime.withWasm(kernelsWasm, (kernels) => kernels.memory), 'the kernels module is not instantiated again').toBe(kernelsMemory);

    const { dpWasm, rngWasm } = await import('../../dist/src/dp/wasm.js');
    expect(runtime.registeredModules().map((module) => module.name)).toEqual(['kernels', 'paillier', 'rng', 'dp']);
    await runtime.ready();
    expect([dpWasm.loaded, rngWasm.loaded, runtime.isReady()]).toEqual([true, true, true]);
  });

  it('a module compiled by another thread (a pool hands its workers compiledModules()) is loaded without importing its bytes', async () => {
    const compiled = runtime.compiledModules();
    expect(Object.keys(compiled).sort()).toEqual(['dp', 'kernels', 'paillier', 'rng']);
    // declared with a source that fails: only the adopted module can load it
    const { instantiate } = await import('../../dist/src/wasm/generated/kernels.js');
    let imported = 0;
    const source = async () => {
      imported++;
      return { WASM_BYTES: 'not a module at all!' };
    };
    const twin = runtime.defineModule('kernels twin', source, instantiate);
    runtime.adoptModules({ 'kernels twin': compiled.kernels! });
    await runtime.ready();
    expect(twin.loaded).toBe(true);
    const data = runtime.withWasm(twin, (kernels, arena) => {
      const ptr = arena.allocF32(4);
      arena.f32(ptr, 4).set([1, 2, NaN, 4]);
      return kernels.firstNonFinite(ptr, 4);
    });
    expect(data).toBe(2);
    expect(imported, 'the bytes of an adopted module are never imported').toBe(0);
  });
});

describe('a bundle carries the modules its imports reach (Vite)', () => {
  /** The modules whose embedded bytes a bundle of `source` contains. */
  async function modulesIn(source: string): Promise<string[]> {
    const embeddedIn = new Set((await buildApp(source)).flatMap((file) => embeddedModules(file.bytes)));
    const found: string[] = [];
    for (const name of MODULES) if (embeddedIn.has(await embedded(name))) found.push(name);
    return found;
  }

  it('one kernel of privkit: the kernels module (and its build for shared memory) only', async () => {
    expect(await modulesIn(`import { ready, clipAndSum } from 'privkit';\nawait ready();\nconsole.log(clipAndSum(new Float32Array(4), 2, 1));\n`)).toEqual(['kernels', 'kernels-shared']);
  });

  it('the generator alone: the rng module; a noise sampler: the dp module too', async () => {
    expect(await modulesIn(`import { ready } from 'privkit';\nimport { createRng } from 'privkit/dp';\nawait ready();\nconsole.log(createRng().bytes(8));\n`)).toEqual(['rng']);
    expect(await modulesIn(`import { ready } from 'privkit';\nimport { gaussianNoise } from 'privkit/dp';\nawait ready();\nconsole.log(gaussianNoise(8, 1));\n`)).toEqual(['rng', 'dp']);
  });

  it("each module's bytes are a chunk of their own; with ES workers, the pool's worker entry and the families' chunks hold none", async () => {
    const files = await buildApp(
      `import { createPool } from 'privkit/pool';\nconst pool = await createPool();\nconsole.log(await pool.sum(new Float32Array(4), 2));\n`,
      { worker: 'es' },
    );
    const bytes = await Promise.all(MODULES.map(embedded));
    /** The modules a file of the build holds. */
    const holds = (file: { bytes: Buffer }) => {
      const strings = embeddedModules(file.bytes);
      return MODULES.filter((_, i) => strings.includes(bytes[i]!));
    };
    const worker = files.find((file) => /^assets\/worker-[\w-]+\.js$/.test(file.name));
    expect(worker, 'the worker entry').toBeDefined();
    expect(holds(worker!)).toEqual([]);
    // a module's bytes are imported when it is compiled: each is a chunk holding it alone, which a
    // worker given the compiled module never loads. The page of an app that only pools needs no
    // kernel (its plans and merges run none), so only the worker's build has the kernels' chunks.
    for (const name of ['kernels', 'kernels-shared'] as const) {
      const chunks = files.filter((file) => holds(file).includes(name));
      expect(chunks.map((file) => file.name.replace(/-[\w-]{8}\.js$/, '')), name).toEqual([`assets/${name}-wasm`]);
      for (const file of chunks) expect(holds(file), file.name).toEqual([name]);
    }
  });

  it('privkit/protect: the protect module only with the pseudonymizer', async () => {
    expect(await modulesIn(`import { maskString } from 'privkit/protect';\nconsole.log(maskString('4111111111111111', { keepLast: 4 }));\n`)).not.toContain('protect');
    expect(
      await modulesIn(`import { createPseudonymizer } from 'privkit/protect';\nconst ids = await createPseudonymizer({ key: new Uint8Array(32) });\nconsole.log(await ids.token('a'));\n`),
    ).toContain('protect');
  });

  it('accounting only: no module at all', async () => {
    expect(await modulesIn(`import { RdpAccountant } from 'privkit/accounting';\nconsole.log(new RdpAccountant());\n`)).toEqual([]);
  });
});
