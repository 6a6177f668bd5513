// The model and the clients' data of the privkit/server end-to-end tests (test/e2e/server*.test.ts,
// cluster-secagg.test.ts), shared with the browser clients server-browser-clients.test.ts starts (each
// client's data depends only on its number).
export const serverClientModel = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;

/** Client `c`'s six labelled samples of four features. */
export function serverClientData(c: number): { images: Float32Array; labels: Uint8Array } {
  const labels = Uint8Array.from({ length: 6 }, (_, i) => (i + c) % 2);
  const images = Float32Array.from({ length: 24 }, (_, k) => labels[k >> 2]! - 0.5 + 0.3 * Math.sin(k + c));
  return { images, labels };
}
