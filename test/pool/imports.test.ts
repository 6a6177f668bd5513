// The shape of src/'s import graph (issue 12): no import cycle anywhere in src/ (type-only imports
// and re-exports count: a cycle of types is still a knot to read), and the pool (src/pool/) imports
// no family. Imports are read with the TypeScript scanner (ts.preProcessFile: import and export
// declarations, `import type`, dynamic imports); `#platform` resolves to src/platform/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'generated' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The src/ files each src/ file imports (relative specifiers and #platform; packages and node: builtins left out). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles.flatMap(({ fileName }) => {
      if (fileName === '#platform') return [join(src, 'platform/node.ts')];
      if (!fileName.startsWith('.')) return [];
      return [resolve(dirname(file), fileName).replace(/\.js$/, '.ts')];
    });
    graph.set(relative(src, file), [...new Set(targets.map((target) => relative(src, target)))]);
  }
  return graph;
}

/** A cycle of the graph as the list of its files (the first repeated at the end), or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/** What the pool may import besides itself: the engine's shared parts (errors, validation, wasm boundary, platform seam). */
const ENGINE = ['errors.ts', 'validate.ts', 'wasm/', 'platform/'];
/**
 * The two doors from the pool to the families, both outside src/pool/: the worker dispatches through
 * the registry, and the package entry privkit/pool re-exports the Pool facade (one method per
 * registered public operation).
 */
const DOORS: Record<string, string> = { 'pool/worker.ts': 'registry.ts', 'pool/index.ts': 'pool-api.ts' };

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('reads every file and finds the imports it should', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('pool/worker.ts')).toContain('registry.ts');
    expect(graph.get('paillier/keys.ts')).toContain('pool/types.ts'); // a type-only import
  });

  it('has no cycle', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('finds a cycle when there is one', () => {
    const knotted = new Map(graph);
    knotted.set('pool/types.ts', [...graph.get('pool/types.ts')!, 'paillier/keys.ts']);
    const cycle = findCycle(knotted)!;
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(cycle).toEqual(expect.arrayContaining(['paillier/keys.ts', 'pool/types.ts']));
  });

  it('the pool (src/pool/) imports no family', () => {
    for (const [file, targets] of graph) {
      if (!file.startsWith('pool/')) continue;
      for (const target of targets) {
        const allowed = target.startsWith('pool/') || ENGINE.some((part) => target.startsWith(part)) || DOORS[file] === target;
        expect(allowed, `${file} imports ${target}`).toBe(true);
      }
    }
  });
});
