// Serves src/kernels/stream.ts (the staging window's scan for the offending index) and src/secagg/rotation.ts.
// Finiteness scan: the engine rejects NaN and +-Infinity before any kernel runs on them.

/** Index of the first NaN or +-Infinity among n float32 values at x, or -1 if all are finite. */
export function firstNonFinite(x: usize, n: i32): i32 {
  const exponentMask = i32x4.splat(0x7f800000);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const bits = v128.and(v128.load(x + (<usize>i << 2)), exponentMask);
    if (v128.any_true(i32x4.eq(bits, exponentMask))) break;
  }
  for (; i < n; i++) {
    if ((load<u32>(x + (<usize>i << 2)) & 0x7f800000) == 0x7f800000) return i;
  }
  return -1;
}
