// The official test vectors of draft-irtf-cfrg-vdaf-20 with the wasm kernels (after ready()): one
// row per file, every operation byte for byte (test/support/vdaf-vectors.ts).
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import 'privkit/prio';
import { wasmLoaded } from '../../dist/src/prio/kernels.js';
import { checkXofVector, runVectorFile, VECTOR_FILES } from '../support/vdaf-vectors.js';

await ready();

describe('draft-irtf-cfrg-vdaf-20 test vectors (wasm kernels)', () => {
  it('runs on the wasm kernels and covers every Prio3 variant the draft publishes vectors for', () => {
    expect(wasmLoaded()).toBe(true);
    const kinds = new Set(VECTOR_FILES.map((f) => f.replace(/_\d+\.json$/, '')));
    expect([...kinds].sort()).toEqual(['Prio3Count', 'Prio3HigherDegree', 'Prio3Histogram', 'Prio3MultihotCountVec', 'Prio3Sum', 'Prio3SumVec', 'Prio3SumVecWithMultiproof']);
  });
  it('XofTurboShake128: derived seed and expansion into Field128', () => checkXofVector(true));
  it.each(VECTOR_FILES)('%s', (file) => runVectorFile(file));
});
