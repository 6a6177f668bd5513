// Linear-memory layout shared with the TypeScript memory manager (src/wasm/arena.ts).
// Kernels allocate nothing: everything from heapBase() up belongs to the JS-side arena.

export function heapBase(): usize {
  return __heap_base;
}
