// The official test vectors of draft-irtf-cfrg-vdaf-20 on the plain-TS references: this file never
// calls ready(), so the prio wasm module stays unloaded and Prio3 runs its fallback path (the
// nonces and randomness come from the vectors, so no generator is needed).
import { describe, expect, it } from 'vitest';
import 'privkit/prio';
import { wasmLoaded } from '../../dist/src/prio/kernels.js';
import { checkXofVector, runVectorFile, VECTOR_FILES } from '../support/vdaf-vectors.js';

describe('draft-irtf-cfrg-vdaf-20 test vectors (plain-TS references)', () => {
  it('runs without the wasm module', () => {
    expect(wasmLoaded()).toBe(false);
  });
  it('XofTurboShake128: derived seed and expansion into Field128', () => checkXofVector(false));
  it.each(VECTOR_FILES)('%s', (file) => {
    runVectorFile(file);
    expect(wasmLoaded()).toBe(false);
  });
});
