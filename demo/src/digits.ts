// The MNIST digits of the training panels (train-worker.ts, tfjs-worker.ts): the asset (see
// ../mnist-plugin.ts) fetched and split by a fixed seeded shuffle into TRAIN_IMAGES training digits
// and TEST_IMAGES held-out ones, the same split on every run and in both panels; and the key of a
// run's numeric seed.
import { createRng } from 'privkit/dp';
import { DIGITS_PER_CLASS, MNIST_PIXELS, TEST_IMAGES, TRAIN_IMAGES } from './train-protocol';

/** Images (grey levels in [0, 1], MNIST_PIXELS a digit) and their labels. */
export interface Digits {
  images: Float32Array;
  labels: Uint8Array;
}

/** Key of the shuffle that splits the digits: the same split on every run. */
const DATA_SEED = new Uint8Array(32);

/**
 * The asset's digits in a seeded random order: TRAIN_IMAGES for training, then TEST_IMAGES held
 * out. `allocate` makes the image arrays (e.g. privkit/pool's sharedFloat32Array).
 */
export async function loadDigits(url: string, allocate: (length: number) => Float32Array = (length) => new Float32Array(length)): Promise<{ train: Digits; test: Digits }> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load the digits (${url}): HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const count = 10 * DIGITS_PER_CLASS;
  if (bytes.length !== count * (1 + MNIST_PIXELS)) {
    throw new Error(`the digits asset holds ${bytes.length} bytes, expected ${count * (1 + MNIST_PIXELS)}`);
  }
  // A uniformly random permutation: sort by independent uniform keys (ties have probability ~2^-40).
  const keys = createRng({ seed: DATA_SEED }).uniform(count);
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => keys[a]! - keys[b]!);
  const take = (from: number, size: number): Digits => {
    const images = allocate(size * MNIST_PIXELS);
    const labels = new Uint8Array(size);
    for (let k = 0; k < size; k++) {
      const i = order[from + k]!;
      labels[k] = bytes[i]!;
      const pixels = bytes.subarray(count + i * MNIST_PIXELS, count + (i + 1) * MNIST_PIXELS);
      for (let j = 0; j < MNIST_PIXELS; j++) images[k * MNIST_PIXELS + j] = pixels[j]! / 255;
    }
    return { images, labels };
  };
  return { train: take(0, TRAIN_IMAGES), test: take(TRAIN_IMAGES, TEST_IMAGES) };
}

/** The 32-byte key of a numeric seed (its little-endian bytes, then zeros). */
export function seedBytes(seed: number): Uint8Array {
  const bytes = new Uint8Array(32);
  new DataView(bytes.buffer).setUint32(0, seed, true);
  return bytes;
}
