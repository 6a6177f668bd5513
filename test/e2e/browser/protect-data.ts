// The tensors both sides of test/e2e/protect-browser.test.ts seal and expect: deterministic, every dtype, several chunks of 4 KiB.
export function protectTensors() {
  return new Map([
    ['embedding', { dtype: 'float32' as const, shape: [64, 40], data: Float32Array.from({ length: 2560 }, (_, i) => Math.sin(i) * 3) }],
    ['scale', { dtype: 'float64' as const, shape: [5], data: Float64Array.from({ length: 5 }, (_, i) => 1 / (i + 1)) }],
    ['ids', { dtype: 'int32' as const, shape: [2, 3], data: Int32Array.of(-1, 0, 1, 2 ** 31 - 1, -(2 ** 31), 7) }],
    ['mask', { dtype: 'uint8' as const, shape: [9], data: Uint8Array.of(0, 1, 2, 3, 250, 251, 252, 253, 255) }],
  ]);
}
