// Kernel worker: instantiates the wasm engine in its own thread and serves the pool over Comlink.
// Inputs arrive as views on shared memory or as transferred copies; results that are new arrays are
// transferred back. PrivkitError fields (code, argument, index) survive the trip to the caller.
import * as Comlink from 'comlink';
import { workerEndpoint } from '#platform';
import { ready } from '../src/wasm/runtime.js';
import { clipAndSum, clipPerLayer, clipValues, l2Norms, type ClipAndSumResult } from '../src/kernels/clip.js';
import { weightedSum } from '../src/kernels/reduce.js';
import { addNoise, fillNoise, resolveRng, type NoiseDtype, type NoiseKind } from '../src/dp/noise.js';
import { PrivkitError } from '../src/errors.js';
import { PrivateKey, PublicKey } from '../src/paillier/keys.js';
import { randomPrime } from '../src/paillier/primes.js';
import type { FloatArray } from '../src/validate.js';
import { localUpdate, type ClientTask, type LocalTrainingOptions } from '../src/fl/local.js';
import { createModel, type Model, type ModelSpec } from '../src/fl/model.js';
import { collectSamples, loadMechanism, type MechanismModule, type Samples } from '../src/audit/sampling.js';

const defaultThrow = Comlink.transferHandlers.get('throw')!;
Comlink.transferHandlers.set('throw', {
  canHandle: defaultThrow.canHandle,
  serialize(thrown: { value: unknown }) {
    const { value } = thrown;
    if (!(value instanceof PrivkitError)) return defaultThrow.serialize(thrown);
    const { message, name, stack, code, argument, index } = value;
    return [{ isError: true, value: { message, name, stack, code, argument, index } }, []];
  },
  deserialize: defaultThrow.deserialize,
});

const transferred = <T extends FloatArray>(array: T): T => Comlink.transfer(array, [array.buffer as ArrayBuffer]);

/** The public key of the last Paillier call (its n^2 Montgomery constants are reused). */
let paillierKey: PublicKey | undefined;
/** The private key of the last paillierDecrypt call (its CRT constants are reused). */
let paillierPrivateKey: PrivateKey | undefined;

/** The model of the last localUpdates call (its scratch buffers are reused). */
let flModel: Model | undefined;

/** The integer of hexadecimal text. */
function fromHex(text: string, name: string): bigint {
  if (typeof text !== 'string' || !/^[0-9a-f]+$/i.test(text)) throw new PrivkitError('E_ARG', `${name} must be hexadecimal text`, { argument: name });
  return BigInt('0x' + text);
}

/** The public key with modulus n (hex text), cached. Any test-key size: the caller's key enforced its policy. */
function publicKeyOf(nHex: string): PublicKey {
  const n = fromHex(nHex, 'n');
  if (paillierKey?.n !== n) paillierKey = new PublicKey(n, { allowInsecureTestKeys: true });
  return paillierKey;
}

const api = {
  /** Resolves once the wasm engine of this worker is instantiated. */
  init(): Promise<void> {
    return ready();
  },
  l2Norms(x: Float32Array, rows: number): Float32Array {
    return transferred(l2Norms(x, rows));
  },
  /** Flat clipping is per-layer clipping with one layer. Writes into `out` when given (shared memory). */
  clipPerLayer(
    x: Float32Array,
    rows: number,
    layerSizes: number[],
    maxNorms: number[],
    out?: Float32Array,
  ): Float32Array | undefined {
    const result = clipPerLayer(x, rows, layerSizes, maxNorms, out === undefined ? {} : { out });
    return out === undefined ? transferred(result) : undefined;
  },
  clipAndSum(x: Float32Array, rows: number, layerSizes: number[], maxNorms: number[]): ClipAndSumResult {
    const result = clipAndSum(x, rows, maxNorms, { layerSizes });
    return Comlink.transfer(result, [result.sum.buffer as ArrayBuffer, result.norms.buffer as ArrayBuffer]);
  },
  clipValues(x: Float32Array, min: number, max: number, out?: Float32Array): Float32Array | undefined {
    const result = clipValues(x, min, max, out === undefined ? {} : { out });
    return out === undefined ? transferred(result) : undefined;
  },
  weightedSum(x: Float32Array, rows: number, weights: Float64Array): Float32Array {
    return transferred(weightedSum(x, rows, weights));
  },
  /** `length` noise samples from this worker's CSPRNG, written into `out` when given (shared memory). */
  noise(kind: NoiseKind, scale: number, length: number, dtype: NoiseDtype, out?: FloatArray): FloatArray | undefined {
    const result = out ?? (dtype === 'float64' ? new Float64Array(length) : new Float32Array(length));
    fillNoise(kind, result, scale, resolveRng(undefined));
    return out === undefined ? transferred(result) : undefined;
  },
  /** Adds noise from this worker's CSPRNG to x in place: a view on shared memory, or a transferred copy sent back. */
  addNoise(kind: NoiseKind, x: FloatArray, scale: number): FloatArray | undefined {
    addNoise(kind, x, scale, resolveRng(undefined));
    return typeof SharedArrayBuffer === 'function' && x.buffer instanceof SharedArrayBuffer ? undefined : transferred(x);
  },
  /**
   * `count` values r^n mod n^2 (Enc(0) = r^n) from this worker's CSPRNG for the public key with
   * modulus n (hex text).
   */
  paillierRandomness(nHex: string, count: number): bigint[] {
    const key = publicKeyOf(nHex);
    return Array.from({ length: count }, () => key.encrypt(0n).value);
  },
  /** `count` random probable primes of `bits` bits from this worker's CSPRNG. */
  paillierPrimes(bits: number, count: number): bigint[] {
    const rng = resolveRng(undefined);
    return Array.from({ length: count }, () => randomPrime(bits, rng));
  },
  /** Enc(m) of each plaintext under the key with modulus n (hex text), r from this worker's CSPRNG. */
  paillierEncrypt(nHex: string, plaintexts: bigint[]): bigint[] {
    const key = publicKeyOf(nHex);
    return plaintexts.map((m) => key.encrypt(m).value);
  },
  /** The plaintexts of ciphertext values (each checked to lie in Z*_{n^2}) under the key with factors p and q (hex text). */
  paillierDecrypt(pHex: string, qHex: string, ciphertexts: bigint[]): bigint[] {
    const p = fromHex(pHex, 'p');
    const q = fromHex(qHex, 'q');
    if (paillierPrivateKey?.p !== p || paillierPrivateKey.q !== q) paillierPrivateKey = new PrivateKey(p, q, { allowInsecureTestKeys: true });
    const key = paillierPrivateKey;
    return ciphertexts.map((c) => key.decrypt(c));
  },
  /**
   * FedAvg local training of each client task from `params`; the updates (tasks x paramCount) are
   * written into `out` when given (shared memory), else returned.
   */
  localUpdates(
    spec: ModelSpec,
    params: Float32Array,
    clients: ClientTask[],
    opts: Omit<LocalTrainingOptions, 'seed'>,
    out?: Float32Array,
  ): Float32Array | undefined {
    if (flModel === undefined || JSON.stringify(flModel.spec) !== JSON.stringify(spec)) flModel = createModel(spec);
    const model = flModel;
    const d = model.paramCount;
    const result = out ?? new Float32Array(clients.length * d);
    clients.forEach((task, k) => result.set(localUpdate(model, params, task.images, task.labels, { ...opts, seed: task.seed }), k * d));
    return out === undefined ? transferred(result) : undefined;
  },
  /** `trials` runs of an audited mechanism (imported from its module here) on each of two inputs. */
  async auditSamples(mechanism: MechanismModule, inputs: [unknown, unknown], trials: number): Promise<Samples> {
    const samples = await collectSamples(await loadMechanism(mechanism), inputs, trials);
    return Comlink.transfer(samples, [samples.a.buffer as ArrayBuffer, samples.b.buffer as ArrayBuffer]);
  },
};

export type KernelWorkerApi = typeof api;

Comlink.expose(api, workerEndpoint());
