// Serves src/wasm/runtime.ts: every module (assembly/<module>.ts) exports heapBase, where the
// JS-side arena of its instance starts (src/wasm/arena.ts).
// Kernels allocate nothing: everything from heapBase() up belongs to the arena. Below it, the static
// data holds constant tables and, in the dp module, a few KiB of scratch blocks where the samplers
// stage keystream; its wipeScratch zeroes them when a generator's call ends.

export function heapBase(): usize {
  return __heap_base;
}
