// The secure-aggregation family: a client's two data-plane steps in SecAgg+ with distributed
// discrete Gaussian noise, for an update of 100,000 parameters (padded to 131,072 by the rotation)
// and 16 neighbours. Masking adds 17 ChaCha20 keystreams (the self mask and one pairwise mask per
// neighbour) mod 2^20: privkit's applyMasks against the same masks in JS on @noble/ciphers' ChaCha20.
// Quantization rounds the rotated update to integers and adds discrete Gaussian noise: privkit's
// wasm against the plain-JS path (privkit/reference's quantize on crypto.getRandomValues uniforms,
// plus the exact CKS20 sampler in JS).
import { chacha20 } from '@noble/ciphers/chacha.js';
import { clipByL2 } from 'privkit';
import { discreteGaussian } from 'privkit/dp';
import * as reference from 'privkit/reference';
import { applyMasks, planDistributedDp, quantize, randomizedHadamard, rotationLength, type DistributedDpPlan, type Mask } from 'privkit/secagg';
import { bytes, count, lcg, type BenchContext, type Family, type Group } from './family';
import { cryptoUniforms, standardDeviation } from './noise';

const PARAMS = { quick: 10_000, full: 100_000 };
const NEIGHBOURS = 16;
const MASKS = NEIGHBOURS + 1;
const BITS = 20;
const CLIENTS = 100;
const ZERO_NONCE = new Uint8Array(12);

/** JS masking as one would write it on @noble/ciphers: each mask's keystream (ChaCha20, zero nonce) added or subtracted, then reduced mod 2^bits. */
function nobleMasks(target: Uint32Array, masks: readonly Mask[], bits: number, keystream: Uint8Array, zeros: Uint8Array): Uint32Array {
  const words = new Uint32Array(keystream.buffer, keystream.byteOffset, target.length);
  for (const { seed, subtract } of masks) {
    chacha20(seed, ZERO_NONCE, zeros, keystream);
    for (let i = 0; i < target.length; i++) target[i] = subtract ? target[i]! - words[i]! : target[i]! + words[i]!;
  }
  const modulus = 2 ** bits - 1;
  for (let i = 0; i < target.length; i++) target[i] = target[i]! & modulus;
  return target;
}

/** A client's update (L2 norm about 2), clipped to norm 1 and rotated: what quantize receives. */
function rotatedUpdate(params: number): { rotated: Float32Array; plan: DistributedDpPlan } {
  const next = lcg(12345);
  const x = Float32Array.from({ length: params }, () => (2 * next() - 1) * Math.sqrt(12 / params));
  const rotated = randomizedHadamard(clipByL2(x, 1, 1), crypto.getRandomValues(new Uint8Array(32)));
  return { rotated, plan: planDistributedDp({ clipNorm: 1, dimension: params, clients: CLIENTS, noiseMultiplier: 1, bits: BITS }) };
}

function masksGroup(ctx: BenchContext): Group {
  const words = rotationLength(PARAMS[ctx.mode]);
  const masks: Mask[] = Array.from({ length: MASKS }, (_, i) => ({ seed: crypto.getRandomValues(new Uint8Array(32)), subtract: i > 0 && i % 2 === 0 }));
  const input = Uint32Array.from({ length: words }, (_, i) => (i * 2654435761) % 2 ** BITS);
  const ours = new Uint32Array(words);
  const theirs = new Uint32Array(words);
  const keystream = new Uint8Array(words * 4);
  const zeros = new Uint8Array(words * 4);
  const expected = nobleMasks(input.slice(), masks, BITS, keystream, zeros);
  const same = (result: Uint32Array) => (result.every((v, i) => v === expected[i]) ? 'masked words = JS on @noble/ciphers' : 'masked words DIFFER from JS');
  return {
    shape: `${MASKS} masks x ${count(words)} words of ${BITS} bits (${bytes(MASKS * words * 4)} of keystream)`,
    setup: "import { applyMasks } from 'privkit/secagg';\n// masks: 17 x { seed: 32 bytes, subtract: boolean } from the key agreement\nconst masked = new Uint32Array(q.length);",
    rate: { unit: 'GB/s', perCall: MASKS * words * 4, scale: 1e9 },
    baseline: 'noble',
    tasks: [
      {
        id: 'privkit',
        label: 'privkit applyMasks (wasm)',
        kind: 'privkit',
        code: `applyMasks(masked, masks, ${BITS})`,
        run: () => applyMasks(ours, masks, BITS),
        check: () => same(applyMasks(input.slice(), masks, BITS)),
      },
      {
        id: 'noble',
        label: 'JS masks on @noble/ciphers ChaCha20',
        kind: 'baseline',
        code: `nobleMasks(masked, masks, ${BITS})`,
        run: () => nobleMasks(theirs, masks, BITS, keystream, zeros),
        check: () => 'the expected result',
      },
    ],
  };
}

function quantizeGroup(ctx: BenchContext): Group {
  const { rotated, plan } = rotatedUpdate(PARAMS[ctx.mode]);
  const modulus = 2 ** BITS;
  /** The noise actually added: q (centred) minus x * scale, whose sd is about the local sigma. */
  const noiseSd = (q: Uint32Array) => {
    const noise = Float64Array.from(q, (v, i) => (v >= modulus / 2 ? v - modulus : v) - rotated[i]! * plan.scale);
    return `noise sd ${standardDeviation(noise).toFixed(0)} (sigma ${plan.localSigma.toFixed(0)})`;
  };
  const common = { scale: plan.scale, bits: BITS, noiseSigma: plan.localSigma };
  const conditional = () => quantize(rotated, { ...common, rounding: 'conditional', conditionalBound: plan.conditionalBound });
  const stochastic = () => quantize(rotated, common);
  const js = () =>
    reference.quantize(rotated, { scale: plan.scale, bits: BITS, uniforms: cryptoUniforms(rotated.length), noise: discreteGaussian(rotated.length, plan.localSigma, { method: 'exact' }) });
  return {
    shape: `${count(rotated.length)} rotated values, ${BITS}-bit words, ${CLIENTS} clients' share of the noise (local sigma ${plan.localSigma.toFixed(0)} units)`,
    setup: `import { planDistributedDp, quantize } from 'privkit/secagg';\nconst plan = planDistributedDp({ clipNorm: 1, dimension, clients: ${CLIENTS}, noiseMultiplier: 1, bits: ${BITS} });\nconst { scale, bits, localSigma: noiseSigma, conditionalBound } = plan;`,
    rate: { unit: 'M values/s', perCall: rotated.length, scale: 1e6 },
    baseline: 'js',
    tasks: [
      {
        id: 'conditional',
        label: 'privkit, conditional rounding + noise (SecAgg default)',
        kind: 'privkit',
        code: "quantize(x, { scale, bits, noiseSigma, rounding: 'conditional', conditionalBound })",
        run: conditional,
        check: () => noiseSd(conditional()),
      },
      { id: 'stochastic', label: 'privkit, stochastic rounding + noise', kind: 'privkit', code: 'quantize(x, { scale, bits, noiseSigma })', run: stochastic, check: () => noiseSd(stochastic()) },
      {
        id: 'js',
        label: 'plain JS: reference quantize + exact CKS20 noise',
        kind: 'baseline',
        code: "reference.quantize(x, { scale, bits, uniforms, noise: discreteGaussian(n, noiseSigma, { method: 'exact' }) })",
        run: js,
        check: () => noiseSd(js()),
      },
    ],
  };
}

export const secagg: Family = {
  id: 'secagg',
  title: 'Secure aggregation',
  intro:
    `A client's data-plane work in a SecAgg+ round with distributed differential privacy (${NEIGHBOURS} neighbours, ${BITS}-bit words): ` +
    'masking its quantized update and quantizing it with its share of the discrete Gaussian noise.',
  groups: [
    { id: 'masks', title: 'Masking: add the self and pairwise masks', prepare: masksGroup },
    { id: 'quantize', title: 'Quantization with distributed discrete Gaussian noise', prepare: quantizeGroup },
  ],
};
