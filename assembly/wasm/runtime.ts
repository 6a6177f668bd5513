// Serves src/wasm/runtime.ts (heapBase: where its arena starts) and src/dp/rng.ts (wipeScratch).
// Linear-memory layout shared with the TypeScript memory manager (src/wasm/arena.ts).
// Kernels allocate nothing: everything from heapBase() up belongs to the JS-side arena. Below it,
// the static data holds constant tables and a few KiB of scratch blocks where the samplers stage
// keystream; wipeScratch zeroes those when a generator's call ends.
import { wipeDiscreteScratch } from '../dp/discrete';
import { wipeKeystream } from '../dp/rng';
import { wipeQuantizeScratch } from '../secagg/quantize';

export function heapBase(): usize {
  return __heap_base;
}

/** Zeroes every static scratch block that may hold keystream or values drawn from it. */
export function wipeScratch(): void {
  wipeKeystream();
  wipeDiscreteScratch();
  wipeQuantizeScratch();
}
