// The fast noise samplers' pooled operations, their runs in the workers (the contract is in
// src/pool/types.ts; the plans and merges are in ./pool-ops.ts). Each worker draws its part from its
// own CSPRNG (ChaCha20 keyed by crypto.getRandomValues in that worker), so the parts are independent
// and no noise is drawn twice; a worker's generator moves past the noise it drew even when its part
// fails.
import type { PartMemory, PartRun } from '../pool/types.js';
import * as noise from './noise.js';
import type { NoiseTask } from './pool-ops.js';

export const gaussianNoise: PartRun<NoiseTask, void> = fillPart;

export const laplaceNoise: PartRun<NoiseTask, void> = fillPart;

export const addGaussianNoise: PartRun<NoiseTask, void> = addPart;

export const addLaplaceNoise: PartRun<NoiseTask, void> = addPart;

function fillPart({ kind, scale }: NoiseTask, { output }: PartMemory): void {
  noise.fillNoise(kind, output!, scale, noise.generatorOf(undefined));
}

function addPart({ kind, scale }: NoiseTask, { output }: PartMemory): void {
  noise.addNoise(kind, output!, scale, noise.generatorOf(undefined));
}
