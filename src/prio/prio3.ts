// Prio3 (draft-irtf-cfrg-vdaf-20, section 7.2): the transformation of an FLP into a VDAF. A client
// shards its encoded measurement and proof(s) into additive shares (helpers get an XOF seed), with
// joint randomness bound to every share through the parts in the public share; each aggregator
// queries its share into a verifier share; the combined verifier message decides; aggregate shares
// are sums of output shares. Every message is encoded as the draft's section 7.2.7 says.
import { PrivkitError } from '../errors.js';
import { createRng, isRng, type Rng } from '../dp/rng.js';
import { checkTypedArray, currentLength } from '../wasm/boundary.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { assertBytes } from '../validate-arrays.js';
import { discreteGaussian, MAX_DISCRETE_SCALE } from '../dp/discrete.js';
import { sha256 } from '../reference/hmac.js';
import { checkEncodedVec, decodeVec, encodeVec, type Field, FieldVec, vecAdd } from './field.js';
import { type Circuit, decide, proofLen, proveEncoded, proveRandLen, query, queryRandLen, rootOfUnityError, verifierLen } from './flp.js';
import { addEncoded, chunkedKernelsFit, type ChunkedPlan, chunkedPlan, combineChunkedWasm, deriveSeed, expandBytes, expandIntoFieldVec, expandIntoVec, shardChunkedWasm, verifyChunkedWasm, wraparoundDotProducts } from './kernels.js';
import { SEED_SIZE } from './xof.js';

/** The draft's VERSION constant (draft 20 keeps the wire format of draft 18). */
const VERSION = 18;
const USAGE_MEAS_SHARE = 1;
const USAGE_PROOF_SHARE = 2;
const USAGE_JOINT_RANDOMNESS = 3;
const USAGE_PROVE_RANDOMNESS = 4;
const USAGE_QUERY_RANDOMNESS = 5;
const USAGE_JOINT_RAND_SEED = 6;
const USAGE_JOINT_RAND_PART = 7;
// PINE's wraparound randomness (beyond the draft, for circuits with wraparound checks: flp.ts's Wraparound)
const USAGE_WRAPAROUND_PART = 8;
const USAGE_WRAPAROUND_SEED = 9;
const USAGE_WRAPAROUND_RANDOMNESS = 10;
/** Bytes of the domain separation tag before the ctx. */
const DST_PREFIX = 8;

/** Bytes of the verification key shared by the aggregators (an XOF seed). */
export const VERIFY_KEY_SIZE = SEED_SIZE;
/** Bytes of a report's nonce. */
export const NONCE_SIZE = 16;
/** Longest application context string accepted (the XOF's domain separation tag holds it). */
export const MAX_CTX_LENGTH = 65535 - 8;

/** What a client sends: a public share for every aggregator and one input share per aggregator. */
export interface Prio3Report {
  /** The report's 16-byte nonce (random unless given). */
  readonly nonce: Uint8Array;
  /** The public share (the joint randomness parts; empty for variants without joint randomness). */
  readonly publicShare: Uint8Array;
  /** inputShares[j] goes to aggregator j (0 is the leader). */
  readonly inputShares: readonly Uint8Array[];
}

/** Options of {@link Prio3.shard}. */
export interface Prio3ShardOptions {
  /** Application context string bound into every XOF call (must equal the aggregators'). Default: empty. */
  ctx?: Uint8Array;
  /** The 16-byte nonce. Default: 16 bytes from the CSPRNG. */
  nonce?: Uint8Array;
  /** The sharding randomness (`randSize` bytes). Default: from the CSPRNG. Only for test vectors. */
  rand?: Uint8Array;
  /** The generator of the default nonce and randomness. Default: a CSPRNG made by createRng(). A seeded (reproducible) Rng is for tests only: its shares are predictable. */
  rng?: Rng;
}

/** The inputs of {@link Prio3.verifyInit}: one aggregator's view of one report. */
export interface Prio3VerifyInput {
  /** The verification key shared by the aggregators (32 bytes, secret from clients). */
  verifyKey: Uint8Array;
  /** This aggregator's index: 0 for the leader, 1..shares-1 for the helpers. */
  aggregatorId: number;
  /** The report's nonce. */
  nonce: Uint8Array;
  /** The report's public share. */
  publicShare: Uint8Array;
  /** This aggregator's input share. */
  inputShare: Uint8Array;
  /** Application context string. Default: empty. */
  ctx?: Uint8Array;
}

/** One aggregator's verification state of a report (opaque; consumed by verifyNext). */
export interface Prio3VerifyState {
  /** @internal The encoded output share. */
  readonly outShare: Uint8Array;
  /** @internal */
  readonly jointRandSeed: Uint8Array | undefined;
  /** @internal */
  readonly owner: object;
}

/** verifyInit's arguments, their lengths checked. */
interface CheckedVerifyInput {
  readonly verifyKey: Uint8Array;
  readonly aggId: number;
  readonly nonceGiven: Uint8Array;
  readonly publicGiven: Uint8Array;
  readonly inputGiven: Uint8Array;
}

/** The result of {@link Prio3.verifyInit}. */
export interface Prio3VerifyInit {
  /** Kept by the aggregator until the verifier message arrives. */
  readonly state: Prio3VerifyState;
  /** Broadcast to the other aggregators. */
  readonly verifierShare: Uint8Array;
}

/** The leader's first ping-pong step ({@link Prio3.leaderInit}). */
export interface Prio3LeaderInit {
  /** Kept by the leader until the helper answers. */
  readonly state: Prio3VerifyState;
  /** The `initialize` message for the helper. */
  readonly outbound: Uint8Array;
}

/** Bytes of an aggregate share's report checksum (a SHA-256 digest). */
export const CHECKSUM_SIZE = 32;

/**
 * One aggregator's aggregate share with the DAP-style summary of what it holds
 * ({@link Prio3Aggregator.aggregateShare}); the collector unshards these with {@link Prio3.unshardChecked}.
 */
export interface Prio3AggregateShare {
  /** The encoded aggregate share (what {@link Prio3Aggregator.share} returns). */
  readonly share: Uint8Array;
  /** Number of reports aggregated. */
  readonly count: number;
  /** XOR of SHA-256(nonce) over the reports aggregated (32 bytes). */
  readonly checksum: Uint8Array;
}

/** The helper's ping-pong step ({@link Prio3.helperInit}). */
export interface Prio3HelperInit {
  /** The helper's output share of the report, to add to its aggregator. */
  readonly outShare: Uint8Array;
  /** The `finish` message for the leader. */
  readonly outbound: Uint8Array;
}

const bytesOf = (...parts: (Uint8Array | number[])[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};

/** Whether a[aStart..] equals b (in place: no view of a, see pingPongField). */
function equalBytes(a: Uint8Array, b: Uint8Array, aStart = 0): boolean {
  if (a.length - aStart !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < b.length; i++) diff |= a[aStart + i]! ^ b[i]!;
  return diff === 0;
}

let defaultRng: Rng | undefined;
/**
 * shard's draws from the CSPRNG (nonce and randomness), one block reused from call to call (a new
 * array of more than 64 bytes is allocated off the JS heap, which costs more than a small report's
 * sharding in wasm); wiped before shard returns. No caller's code runs while it is in use.
 */
let drawBlock = new Uint8Array(0);
/** The absent ctx (nothing can be written to an empty array). */
const EMPTY = new Uint8Array(0);
/** Verification states verifyInit made and verifyNext has not consumed (each gives at most one output share). */
const pendingStates = new WeakSet<Prio3VerifyState>();

/**
 * A copy of a checked Uint8Array (a Node Buffer's slice() is a view, so the copy is made by the
 * constructor: no later change of the caller's array is seen, and wiping the copy leaves it alone).
 */
const copyBytes = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

/**
 * A Uint8Array argument of any length up to `max`, checked but not copied: for bytes a kernel call
 * stages into wasm memory at once (its snapshot), or that are read before any other code runs.
 */
function checkBytes(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): Uint8Array {
  const bytes = checkTypedArray(name, value, ['Uint8Array']);
  if (currentLength(bytes) > max) throw new PrivkitError('E_ARG', `${name} must be at most ${max} bytes, got ${describe(value)}`, { argument: name });
  return bytes;
}

/** A copy of a Uint8Array argument of any length up to `max`. */
const readBytes = (name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): Uint8Array => copyBytes(checkBytes(name, value, max));

/** The keys of a verifyInit input without aggregatorId (leaderInit and helperInit take them). */
const VERIFY_INPUT_KEYS = ['verifyKey', 'nonce', 'publicShare', 'inputShare', 'ctx'] as const;

/**
 * A Prio3 VDAF: made by {@link prio3Count}, {@link prio3Sum}, {@link prio3SumVec},
 * {@link prio3Histogram}, {@link prio3MultihotCountVec} or {@link prio3SumVecWithMultiproof}.
 * Clients call `shard`; each aggregator calls `verifyInit`, one party combines the verifier shares
 * with `verifierSharesToMessage` (which rejects an invalid report), each aggregator finishes with
 * `verifyNext` and adds the output share to its `aggregator()`; the collector calls `unshard`.
 * For two aggregators the ping-pong methods run the same steps over one round trip.
 *
 * Adversary: any number of malicious clients (a report whose measurement is out of the variant's
 * domain is rejected, except with the FLP's soundness error); the aggregators honest-but-curious
 * and not colluding (any single one learns nothing of a measurement; the verify key must stay
 * secret from clients). The aggregators' outputs are not differentially private by themselves.
 * Count, Sum and HigherDegree bind no share to the nonce (the draft's design): the transport must
 * authenticate the nonce with the shares, or a replay under a fresh nonce verifies again.
 */
export class Prio3<M, R> {
  /** The variant's name, e.g. `Prio3Histogram`. */
  readonly name: string;
  /** The VDAF identifier of the draft's registry (0xFFFFxxxx: private use). */
  readonly id: number;
  /** Number of aggregators (2 for the ping-pong methods). */
  readonly shares: number;
  /** Number of independent proofs. */
  readonly proofs: number;
  /** Bytes of sharding randomness a report consumes. */
  readonly randSize: number;
  /** @internal */
  readonly circuit: Circuit<M, R>;
  /** @internal Checks a measurement as shard does (E_ARG naming `measurement`). */
  readonly checkMeasurement: (m: unknown) => M;
  private readonly field: Field;

  /** @internal */
  constructor(name: string, id: number, circuit: Circuit<M, R>, proofs: number, shares: number, check: (m: unknown) => M) {
    this.name = name;
    this.id = id;
    this.circuit = circuit;
    this.proofs = proofs;
    this.shares = shares;
    this.checkMeasurement = check;
    this.field = circuit.field;
    this.randSize = SEED_SIZE * shares * (circuit.jointRandLen > 0 ? 2 : 1);
    this.proofLength = proofLen(circuit);
    this.verifierLength = verifierLen(circuit);
    this.plan = chunkedPlan(circuit, shares, proofs);
  }

  /** The one-call wasm kernels' constants, for a chunked bit-check circuit (used once the module is loaded). */
  private readonly plan: ChunkedPlan | undefined;

  /** The plan when the one-call kernels run this VDAF with this ctx (a chunked bit-check circuit, the wasm module loaded, each step within one call's memory). */
  private wasmPlan(ctx: Uint8Array): ChunkedPlan | undefined {
    return this.plan !== undefined && chunkedKernelsFit(this.plan, DST_PREFIX + ctx.length) ? this.plan : undefined;
  }

  /** Field elements of one proof. */
  readonly proofLength: number;
  /** Field elements of one verifier (per proof). */
  readonly verifierLength: number;

  /** The tags of the empty ctx by usage, made once (only read: staged or hashed). */
  private readonly emptyCtxDst: Uint8Array[] = [];

  /** The domain separation tag of XOF calls of `usage` (the one-call kernels set the usage bytes 6 and 7 themselves); not to be written to. */
  private dst(usage: number, ctx: Uint8Array): Uint8Array {
    if (ctx.length === 0) return (this.emptyCtxDst[usage] ??= this.makeDst(usage, ctx));
    return this.makeDst(usage, ctx);
  }

  private makeDst(usage: number, ctx: Uint8Array): Uint8Array {
    const id = this.id;
    return bytesOf([VERSION, 0, id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff, usage >> 8, usage & 0xff], ctx);
  }

  /** A helper's measurement share, as field elements and in its encoding (the joint randomness part hashes the latter). */
  private helperMeasShare(ctx: Uint8Array, aggId: number, seed: Uint8Array): FieldVec {
    return expandIntoFieldVec(this.field, seed, this.dst(USAGE_MEAS_SHARE, ctx), new Uint8Array([aggId]), this.circuit.measLen);
  }

  private helperProofsShare(ctx: Uint8Array, aggId: number, seed: Uint8Array): FieldVec {
    return expandIntoFieldVec(this.field, seed, this.dst(USAGE_PROOF_SHARE, ctx), new Uint8Array([this.proofs, aggId]), this.proofLength * this.proofs);
  }

  /**
   * The joint-randomness part of aggregator aggId. With wraparound checks it also hashes the
   * wraparound seed (beyond the draft): each aggregator checks its own part against the public share,
   * so it refuses a public share whose other wraparound parts are not the client's before it sends a
   * verifier share. Without this a leader could forward the helper other wraparound parts: the
   * helper's dot products would then use other vectors z'_k, and the verifier's reduced output (linear
   * in the dot products) would give the leader sum_k rho_k <x, z'_k - z_k>, one linear equation in the
   * client's vector per proof. Only the helper's blind (secret to it) makes its part, so a leader
   * cannot forge a part that matches other wraparound parts.
   */
  private jointRandPart(ctx: Uint8Array, aggId: number, blind: Uint8Array, encodedMeasShare: Uint8Array, nonce: Uint8Array, wraparoundSeed: Uint8Array = EMPTY): Uint8Array {
    return deriveSeed(blind, this.dst(USAGE_JOINT_RAND_PART, ctx), [new Uint8Array([aggId]), nonce, encodedMeasShare, wraparoundSeed]);
  }

  private jointRandSeed(ctx: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    return deriveSeed(new Uint8Array(SEED_SIZE), this.dst(USAGE_JOINT_RAND_SEED, ctx), parts);
  }

  private jointRands(ctx: Uint8Array, seed: Uint8Array): bigint[] {
    return expandIntoVec(this.field, seed, this.dst(USAGE_JOINT_RANDOMNESS, ctx), new Uint8Array([this.proofs]), this.circuit.jointRandLen * this.proofs);
  }

  /** Bytes of the public share: the joint-randomness parts, then (with wraparound checks) the wraparound parts. */
  private get publicShareLength(): number {
    return this.circuit.jointRandLen > 0 ? SEED_SIZE * this.shares * (this.circuit.wraparound === undefined ? 1 : 2) : 0;
  }

  /** The wraparound part of aggregator aggId: its blind over its share of the wraparound prefix (as the joint-randomness part, under its own usage). */
  private wraparoundPart(ctx: Uint8Array, aggId: number, blind: Uint8Array, encodedPrefixShare: Uint8Array, nonce: Uint8Array): Uint8Array {
    return deriveSeed(blind, this.dst(USAGE_WRAPAROUND_PART, ctx), [new Uint8Array([aggId]), nonce, encodedPrefixShare]);
  }

  /** The wraparound seed: a hash of the wraparound parts. */
  private wraparoundSeed(ctx: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    return deriveSeed(new Uint8Array(SEED_SIZE), this.dst(USAGE_WRAPAROUND_SEED, ctx), parts);
  }

  /** The wraparound dot products of a measurement (share), with the vectors from the wraparound seed. */
  private wraparoundResults(ctx: Uint8Array, seed: Uint8Array, meas: FieldVec): bigint[] {
    const w = this.circuit.wraparound!;
    const dst = this.dst(USAGE_WRAPAROUND_RANDOMNESS, ctx);
    const streamLength = Math.ceil(w.dimension / 4);
    return wraparoundDotProducts(this.field, meas.bytes, w.dimension, w.checks, (k) => expandBytes(seed, dst, new Uint8Array([k & 0xff, k >> 8]), streamLength));
  }

  private readCtx(ctx: unknown): Uint8Array {
    return ctx === undefined ? EMPTY : readBytes('ctx', ctx, MAX_CTX_LENGTH);
  }

  /**
   * Splits a measurement into a report: a public share and one input share per aggregator, with
   * proof(s) that the measurement is valid.
   *
   * @param measurement - the client's measurement (its type depends on the variant).
   * @param opts - application context, nonce, randomness and generator (all optional).
   * @throws {PrivkitError} E_ARG when the measurement is out of the variant's domain (checked before
   *   any sharding), opts is not an object, ctx is not a Uint8Array of at most 65,527 bytes, nonce is
   *   not 16 bytes, rand is not `randSize` bytes or rng is not made by createRng; E_NOT_READY before
   *   `await ready()` when the CSPRNG must draw the nonce or randomness.
   */
  shard(measurement: M, opts: Prio3ShardOptions = {}): Prio3Report {
    const o = readOptions(opts, ['ctx', 'nonce', 'rand', 'rng']);
    const m = this.checkMeasurement(measurement);
    const ctx = this.readCtx(o.ctx);
    if (o.rng !== undefined && !isRng(o.rng)) throw new PrivkitError('E_ARG', `rng must be a generator made by createRng, got ${describe(o.rng)}`, { argument: 'rng' });
    const nonceGiven = o.nonce === undefined ? undefined : copyBytes(assertBytes('nonce', o.nonce, NONCE_SIZE));
    const randGiven = o.rand === undefined ? undefined : copyBytes(assertBytes('rand', o.rand, this.randSize));
    const rng = o.rng ?? (nonceGiven === undefined || randGiven === undefined ? (defaultRng ??= createRng()) : undefined);
    // what is not given is drawn at once, the nonce first (the keystream as two draws would give it)
    const toDraw = (nonceGiven === undefined ? NONCE_SIZE : 0) + (randGiven === undefined ? this.randSize : 0);
    if (drawBlock.length < toDraw) drawBlock = new Uint8Array(toDraw);
    const drawn = toDraw > 0 ? rng!.fill(drawBlock.subarray(0, toDraw)) : undefined;
    const nonce = nonceGiven ?? drawn!.slice(0, NONCE_SIZE);
    const rand = randGiven ?? drawn!.subarray(nonceGiven === undefined ? NONCE_SIZE : 0);
    try {
      const plan = this.wasmPlan(ctx);
      if (plan !== undefined) {
        const encode = (out: Uint8Array): void => {
          const encoded = this.circuit.encode(m, out).bytes;
          if (encoded !== out) out.set(encoded);
        };
        return { nonce, ...this.shardChunked(plan, ctx, encode, nonce, rand) };
      }
      return { nonce, ...this.shardWith(ctx, this.circuit.encode(m), nonce, rand) };
    } finally {
      rand.fill(0);
      drawn?.fill(0);
    }
  }

  /** shardWith in one kernel call: the helpers' input shares are their seeds and blinds, slices of rand. */
  private shardChunked(plan: ChunkedPlan, ctx: Uint8Array, meas: (out: Uint8Array) => void, nonce: Uint8Array, rand: Uint8Array): Omit<Prio3Report, 'nonce'> {
    const { leaderShare, publicShare } = shardChunkedWasm(plan, this.dst(0, ctx), meas, rand, nonce);
    const inputShares = [leaderShare];
    for (let j = 0; j < this.shares - 1; j++) inputShares.push(rand.slice(2 * SEED_SIZE * j, 2 * SEED_SIZE * (j + 1)));
    return { publicShare, inputShares };
  }

  private shardWith(ctx: Uint8Array, meas: FieldVec, nonce: Uint8Array, rand: Uint8Array): Omit<Prio3Report, 'nonce'> {
    const f = this.field;
    const c = this.circuit;
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < rand.length; i += SEED_SIZE) seeds.push(rand.slice(i, i + SEED_SIZE));
    const withJointRand = c.jointRandLen > 0;
    const perHelper = withJointRand ? 2 : 1;
    const helperSeeds = Array.from({ length: this.shares - 1 }, (_, j) => seeds[perHelper * j]!);
    const helperBlinds = Array.from({ length: this.shares - 1 }, (_, j) => seeds[perHelper * j + 1]!);
    const rest = seeds.slice(perHelper * (this.shares - 1));
    const leaderBlind = withJointRand ? rest[0]! : undefined;
    const proveSeed = rest[withJointRand ? 1 : 0]!;
    const helperShares = helperSeeds.map((seed, j) => this.helperMeasShare(ctx, j + 1, seed));
    // PINE: the wraparound randomness is bound to the shares of the prefix encode gave, then the
    // measurement is completed from its dot products (the proof's circuit sees them after it)
    let evalMeas = meas;
    const wraparoundParts: Uint8Array[] = [];
    let wraparoundSeed: Uint8Array | undefined;
    const w = c.wraparound;
    if (w !== undefined) {
      const prefixBytes = f.encodedSize * w.prefixLen;
      const leaderPrefix = new Uint8Array(meas.bytes.subarray(0, prefixBytes));
      helperShares.forEach((share, j) => {
        const helperPrefix = share.bytes.subarray(0, prefixBytes);
        addEncoded(f, leaderPrefix, helperPrefix, true, leaderPrefix);
        wraparoundParts.push(this.wraparoundPart(ctx, j + 1, helperBlinds[j]!, helperPrefix, nonce));
      });
      wraparoundParts.unshift(this.wraparoundPart(ctx, 0, leaderBlind!, leaderPrefix, nonce));
      wraparoundSeed = this.wraparoundSeed(ctx, wraparoundParts);
      const results = this.wraparoundResults(ctx, wraparoundSeed, meas);
      const completed = w.complete(meas, results);
      if (completed === undefined) {
        throw new PrivkitError('E_PROTOCOL', `${this.name}: a wraparound check of a valid measurement failed (probability below 2^-100 per report); shard it again with fresh randomness`, { argument: 'measurement' });
      }
      meas = completed;
      evalMeas = FieldVec.fromBytes(f, bytesOf(meas.bytes, encodeVec(f, results)));
    }

    // the leader's input share is assembled in place: measurement share, proofs share, blind
    const measBytes = f.encodedSize * c.measLen;
    const proofsBytes = f.encodedSize * this.proofLength * this.proofs;
    const leaderShare = new Uint8Array(measBytes + proofsBytes + (leaderBlind?.length ?? 0));
    const leaderMeasBytes = leaderShare.subarray(0, measBytes);
    const leaderProofs = leaderShare.subarray(measBytes, measBytes + proofsBytes);
    leaderMeasBytes.set(meas.bytes);
    const parts: Uint8Array[] = [];
    for (let j = 0; j < this.shares - 1; j++) {
      const helperShare = helperShares[j]!;
      addEncoded(f, leaderMeasBytes, helperShare.bytes, true, leaderMeasBytes);
      if (withJointRand) parts.push(this.jointRandPart(ctx, j + 1, helperBlinds[j]!, helperShare.bytes, nonce, wraparoundSeed));
    }
    if (withJointRand) parts.unshift(this.jointRandPart(ctx, 0, leaderBlind!, leaderMeasBytes, nonce, wraparoundSeed));

    const proveRandLength = proveRandLen(c);
    const proveRands = expandIntoVec(f, proveSeed, this.dst(USAGE_PROVE_RANDOMNESS, ctx), new Uint8Array([this.proofs]), proveRandLength * this.proofs);
    const jointRands = withJointRand ? this.jointRands(ctx, this.jointRandSeed(ctx, parts)) : [];
    for (let i = 0; i < this.proofs; i++) {
      const proveRand = proveRands.slice(i * proveRandLength, (i + 1) * proveRandLength);
      const jointRand = jointRands.slice(i * c.jointRandLen, (i + 1) * c.jointRandLen);
      leaderProofs.set(proveEncoded(c, evalMeas, proveRand, jointRand), i * this.proofLength * f.encodedSize);
    }
    for (let j = 0; j < this.shares - 1; j++) addEncoded(f, leaderProofs, this.helperProofsShare(ctx, j + 1, helperSeeds[j]!).bytes, true, leaderProofs);
    if (leaderBlind !== undefined) leaderShare.set(leaderBlind, measBytes + proofsBytes);

    const inputShares: Uint8Array[] = [leaderShare];
    for (let j = 0; j < this.shares - 1; j++) inputShares.push(bytesOf(helperSeeds[j]!, withJointRand ? helperBlinds[j]! : []));
    return { publicShare: bytesOf(...parts, ...wraparoundParts), inputShares };
  }

  /**
   * One aggregator's first verification step: expands and queries its input share, giving its
   * verification state and its verifier share.
   *
   * @param input - the verify key, aggregator index, nonce, public share, input share and ctx.
   * @throws {PrivkitError} E_ARG when an argument has the wrong type or length (naming it), or an
   *   encoded field element is not below the modulus; E_AUTH when the public share's joint-randomness
   *   part of this aggregator is not the one its input share derives (the report is invalid), or the
   *   query point hits a root of unity.
   */
  verifyInit(input: Prio3VerifyInput): Prio3VerifyInit {
    const o = readOptions(input, ['verifyKey', 'aggregatorId', 'nonce', 'publicShare', 'inputShare', 'ctx'], 'input');
    return this.init(o, o.aggregatorId, this.readCtx(o.ctx), 0);
  }

  /**
   * verifyInit on its options, read once (by verifyInit, leaderInit or helperInit), and the read ctx;
   * the verifier share comes after `frame` free bytes (the leader's ping-pong header), in the same array.
   */
  private init(o: Partial<Omit<Prio3VerifyInput, 'aggregatorId' | 'ctx'>>, aggregatorId: unknown, ctx: Uint8Array, frame: number): Prio3VerifyInit {
    return this.initChecked(this.checkVerifyInput(o, aggregatorId), ctx, frame);
  }

  /** verifyInit's arguments checked (lengths; the leader's elements are checked where they are staged or copied). */
  private checkVerifyInput(o: Partial<Omit<Prio3VerifyInput, 'aggregatorId' | 'ctx'>>, aggregatorId: unknown): CheckedVerifyInput {
    const f = this.field;
    const c = this.circuit;
    const verifyKey = assertBytes('verifyKey', o.verifyKey, VERIFY_KEY_SIZE);
    const aggId = assertInteger('aggregatorId', aggregatorId, 0, this.shares - 1);
    const nonceGiven = assertBytes('nonce', o.nonce, NONCE_SIZE);
    const withJointRand = c.jointRandLen > 0;
    const publicGiven = checkBytes('publicShare', o.publicShare);
    const expectedPublic = this.publicShareLength;
    if (currentLength(publicGiven) !== expectedPublic) {
      throw new PrivkitError('E_ARG', `publicShare must be ${expectedPublic} bytes for ${this.name} with ${this.shares} shares, got ${currentLength(publicGiven)}`, { argument: 'publicShare' });
    }
    const inputGiven = checkBytes('inputShare', o.inputShare);
    const proofsLength = this.proofLength * this.proofs;
    const blindLength = withJointRand ? SEED_SIZE : 0;
    const expectedInput = aggId === 0 ? f.encodedSize * (c.measLen + proofsLength) + blindLength : SEED_SIZE + blindLength;
    if (currentLength(inputGiven) !== expectedInput) {
      throw new PrivkitError('E_ARG', `inputShare of aggregator ${aggId} must be ${expectedInput} bytes, got ${currentLength(inputGiven)}`, { argument: 'inputShare' });
    }
    return { verifyKey, aggId, nonceGiven, publicGiven, inputGiven };
  }

  /** init on checked arguments. */
  private initChecked({ verifyKey, aggId, nonceGiven, publicGiven, inputGiven }: CheckedVerifyInput, ctx: Uint8Array, frame: number): Prio3VerifyInit {
    const f = this.field;
    const c = this.circuit;
    const withJointRand = c.jointRandLen > 0;
    const proofsLength = this.proofLength * this.proofs;
    const plan = this.wasmPlan(ctx);
    if (plan !== undefined) {
      // the kernel call stages the arguments (checked above, no code runs in between) and checks the leader's elements on its copy
      const result = verifyChunkedWasm(plan, aggId, this.dst(0, ctx), verifyKey, nonceGiven, publicGiven, inputGiven, frame);
      if (!result.ok) throw this.verifyFailure(result.reason, aggId);
      const state: Prio3VerifyState = { outShare: result.outShare, jointRandSeed: result.jointRandSeed, owner: this };
      pendingStates.add(state);
      return { state, verifierShare: result.verifierShare! }; // made: no peer to combine with
    }
    // the step-by-step path reads its arguments over many calls: copies
    const nonce = copyBytes(nonceGiven);
    const publicShare = copyBytes(publicGiven);
    const inputShare = copyBytes(inputGiven);
    let measShare: FieldVec;
    let proofsShare: FieldVec;
    if (aggId === 0) {
      const measBytes = inputShare.subarray(0, f.encodedSize * c.measLen);
      checkEncodedVec(f, measBytes, 'inputShare');
      measShare = FieldVec.fromBytes(f, measBytes);
      const proofsBytes = inputShare.subarray(f.encodedSize * c.measLen, f.encodedSize * (c.measLen + proofsLength));
      checkEncodedVec(f, proofsBytes, 'inputShare');
      proofsShare = FieldVec.fromBytes(f, proofsBytes);
    } else {
      const seed = inputShare.subarray(0, SEED_SIZE);
      measShare = this.helperMeasShare(ctx, aggId, seed);
      proofsShare = this.helperProofsShare(ctx, aggId, seed);
    }
    const blind = withJointRand ? inputShare.subarray(inputShare.length - SEED_SIZE) : undefined;

    const w = c.wraparound;
    let wraparoundSeed: Uint8Array | undefined;
    if (w !== undefined) {
      // as for the joint randomness: this aggregator's wraparound part must be the public share's (the
      // other parts are bound by the joint-randomness part, which hashes the wraparound seed)
      const wrPublic = publicShare.subarray(SEED_SIZE * this.shares);
      const wrPart = this.wraparoundPart(ctx, aggId, blind!, measShare.bytes.subarray(0, f.encodedSize * w.prefixLen), nonce);
      if (!equalBytes(wrPart, wrPublic.subarray(aggId * SEED_SIZE, (aggId + 1) * SEED_SIZE))) throw this.verifyFailure('wraparound part', aggId);
      wraparoundSeed = this.wraparoundSeed(ctx, Array.from({ length: this.shares }, (_, j) => wrPublic.subarray(j * SEED_SIZE, (j + 1) * SEED_SIZE)));
    }
    let jointRands: bigint[] = [];
    let jointRandSeed: Uint8Array | undefined;
    let part: Uint8Array | undefined;
    if (withJointRand) {
      part = this.jointRandPart(ctx, aggId, blind!, measShare.bytes, nonce, wraparoundSeed);
      // Beyond the draft: an aggregator whose own part differs from the public share's would accept a
      // report the others reject in verifyNext (they use the public share's part); refusing it here
      // makes every honest aggregator decide alike, so no one adds an output share the others drop.
      if (!equalBytes(part, publicShare.subarray(aggId * SEED_SIZE, (aggId + 1) * SEED_SIZE))) throw this.verifyFailure('part', aggId);
      const parts = Array.from({ length: this.shares }, (_, j) => (j === aggId ? part! : publicShare.subarray(j * SEED_SIZE, (j + 1) * SEED_SIZE)));
      jointRandSeed = this.jointRandSeed(ctx, parts);
      jointRands = this.jointRands(ctx, jointRandSeed);
    }
    const outShare = c.truncate(measShare);
    // the circuit sees the share followed by its dot products
    if (wraparoundSeed !== undefined) measShare = FieldVec.fromBytes(f, bytesOf(measShare.bytes, encodeVec(f, this.wraparoundResults(ctx, wraparoundSeed, measShare))));
    const queryLength = queryRandLen(c);
    const queryRands = expandIntoVec(f, verifyKey, this.dst(USAGE_QUERY_RANDOMNESS, ctx), bytesOf([this.proofs], nonce), queryLength * this.proofs);
    const verifiers: bigint[] = [];
    const proofLength = this.proofLength;
    for (let i = 0; i < this.proofs; i++) {
      verifiers.push(
        ...query(
          c,
          measShare,
          proofsShare.slice(i * proofLength, (i + 1) * proofLength),
          queryRands.slice(i * queryLength, (i + 1) * queryLength),
          jointRands.slice(i * c.jointRandLen, (i + 1) * c.jointRandLen),
          this.shares,
        ),
      );
    }
    const state: Prio3VerifyState = { outShare: outShare.bytes, jointRandSeed, owner: this };
    pendingStates.add(state);
    return { state, verifierShare: bytesOf(new Uint8Array(frame), encodeVec(f, verifiers), part ?? []) };
  }

  /** The E_AUTH of an input share verifyInit refuses: its joint-randomness or wraparound part differs from the public share's, or the query point is a root of unity. */
  private verifyFailure(reason: 'part' | 'wraparound part' | 'root of unity', aggId: number): PrivkitError {
    if (reason === 'root of unity') return rootOfUnityError();
    const which = reason === 'part' ? 'joint-randomness' : 'wraparound';
    return new PrivkitError('E_AUTH', `${this.name} ${which} part ${aggId} of the public share is not the one input share ${aggId} derives: the report is invalid`);
  }

  /**
   * Combines every aggregator's verifier share (in aggregator order) into the verifier message,
   * deciding the proof(s).
   *
   * @param verifierShares - one verifier share per aggregator, leader first.
   * @param opts - the application context (`ctx`, default empty).
   * @throws {PrivkitError} E_AUTH when a proof fails: the report is invalid and must not be aggregated;
   *   E_ARG when verifierShares is not an array of `shares` Uint8Arrays of the verifier share length.
   */
  verifierSharesToMessage(verifierShares: readonly Uint8Array[], opts: { ctx?: Uint8Array } = {}): Uint8Array {
    const o = readOptions(opts, ['ctx']);
    return this.combine(verifierShares, this.readCtx(o.ctx));
  }

  /** verifierSharesToMessage with the ctx read. */
  private combine(verifierShares: readonly Uint8Array[], ctx: Uint8Array): Uint8Array {
    const f = this.field;
    if (!Array.isArray(verifierShares) || verifierShares.length !== this.shares) {
      throw new PrivkitError('E_ARG', `verifierShares must be an array of ${this.shares} Uint8Arrays, got ${describe(verifierShares)}`, { argument: 'verifierShares' });
    }
    const vLength = this.verifierLength * this.proofs;
    const withJointRand = this.circuit.jointRandLen > 0;
    const checked = (j: number): Uint8Array => this.checkVerifierShare(verifierShares[j], j);
    const plan = this.wasmPlan(ctx);
    if (plan !== undefined) {
      // the kernel checks the elements on its copy of the shares
      const result = combineChunkedWasm(plan, this.dst(0, ctx), Array.from({ length: this.shares }, (_, j) => checked(j)));
      if ('failed' in result) throw this.proofFailure(result.failed);
      return result.seed;
    }
    let sum: Uint8Array | undefined;
    const parts: Uint8Array[] = [];
    for (let j = 0; j < this.shares; j++) {
      const share = copyBytes(checked(j));
      const encoded = share.subarray(0, f.encodedSize * vLength);
      checkEncodedVec(f, encoded, `verifierShares[${j}]`);
      sum = sum === undefined ? encoded : addEncoded(f, sum, encoded);
      if (withJointRand) parts.push(share.subarray(f.encodedSize * vLength));
    }
    const verifiers = decodeVec(f, sum!, 'verifierShares');
    for (let i = 0; i < this.proofs; i++) {
      const verifier = verifiers.slice(i * this.verifierLength, (i + 1) * this.verifierLength);
      if (!decide(this.circuit, verifier)) throw this.proofFailure(i);
    }
    return withJointRand ? this.jointRandSeed(ctx, parts) : new Uint8Array(0);
  }

  /** verifierShares[j] checked: a Uint8Array of the verifier share's length (its elements are checked where it is staged or copied). */
  private checkVerifierShare(given: unknown, j: number): Uint8Array {
    const expected = this.field.encodedSize * this.verifierLength * this.proofs + (this.circuit.jointRandLen > 0 ? SEED_SIZE : 0);
    const share = checkTypedArray(`verifierShares[${j}]`, given, ['Uint8Array']);
    const length = currentLength(share);
    if (length !== expected) throw new PrivkitError('E_ARG', `verifierShares[${j}] must be ${expected} bytes, got ${length}`, { argument: 'verifierShares', index: j });
    return share;
  }

  /** The E_AUTH of a verifier message whose proof `proof` fails. */
  private proofFailure(proof: number): PrivkitError {
    return new PrivkitError('E_AUTH', `${this.name} proof ${proof} failed verification: the report is invalid`);
  }

  /**
   * One aggregator's last verification step: checks that the joint randomness the client used is the
   * one the aggregators derived, and returns the encoded output share.
   *
   * @param state - this aggregator's state from verifyInit (used once).
   * @param verifierMessage - the message from verifierSharesToMessage.
   * @throws {PrivkitError} E_AUTH when the joint randomness differs (a cheating client or a mismatched
   *   message); E_PROTOCOL when the state was already finished (also by a failed check) or is a copy not made by verifyInit; E_ARG when
   *   state is not a verification state of this VDAF or verifierMessage not a Uint8Array.
   */
  verifyNext(state: Prio3VerifyState, verifierMessage: Uint8Array): Uint8Array {
    this.checkState(state);
    return this.finish(state, checkBytes('verifierMessage', verifierMessage));
  }

  /** E_ARG unless state is a verification state of this VDAF. */
  private checkState(state: Prio3VerifyState): void {
    if (typeof state !== 'object' || state === null || state.owner !== this) {
      throw new PrivkitError('E_ARG', `state must be a verification state of this ${this.name}, got ${describe(state)}`, { argument: 'state' });
    }
  }

  /** verifyNext on a checked state and message, the message being message[start..] (read before anything else runs). */
  private finish(state: Prio3VerifyState, message: Uint8Array, start = 0): Uint8Array {
    if (!pendingStates.has(state)) {
      throw new PrivkitError('E_PROTOCOL', `this ${this.name} verification state was already finished or not made by verifyInit: a report yields one output share`, { argument: 'state' });
    }
    pendingStates.delete(state);
    const expected = state.jointRandSeed ?? new Uint8Array(0);
    if (!equalBytes(message, expected, start)) throw new PrivkitError('E_AUTH', `${this.name} joint randomness check failed: the report is invalid or the message is not this report's`);
    return state.outShare; // the state is finished: its share is handed over, not copied
  }

  /** A streaming aggregate share: add output shares as reports verify. */
  aggregator(): Prio3Aggregator {
    return new Prio3Aggregator(this.name, this.field, this.circuit.outputLen);
  }

  /**
   * The aggregate result from every aggregator's aggregate share.
   *
   * @param aggShares - one encoded aggregate share per aggregator.
   * @param numMeasurements - the number of reports aggregated.
   * @param opts - `noised: true` when the aggregators added DP noise to their shares
   *   (`aggregator.share({ noiseSigma })`): each element is then read as the signed integer it stands
   *   for (a noisy count may be negative) instead of being checked as a sum of valid measurements.
   * @throws {PrivkitError} E_ARG when aggShares is not an array of `shares` aggregate shares of the right length, or numMeasurements is not an integer >= 1;
   *   E_OVERFLOW when an aggregate element exceeds 2^53 - 1 (shares that do not belong together, or a sum too large for a JS number), or when numMeasurements reports could sum past the modulus p to it (sums wrap mod p as in the draft: the result would be ambiguous); with `noised`, when they could sum to p/2 - 2^53 or more (a large sum would read as a negative one).
   */
  unshard(aggShares: readonly Uint8Array[], numMeasurements: number, opts: { noised?: boolean } = {}): R {
    const count = assertInteger('numMeasurements', numMeasurements, 1);
    const { noised } = readOptions(opts, ['noised'], 'opts', true);
    if (noised !== undefined && typeof noised !== 'boolean') throw new PrivkitError('E_ARG', `opts.noised must be a boolean, got ${describe(noised)}`, { argument: 'opts.noised' });
    if (!Array.isArray(aggShares) || aggShares.length !== this.shares) {
      throw new PrivkitError('E_ARG', `aggShares must be an array of ${this.shares} Uint8Arrays, got ${describe(aggShares)}`, { argument: 'aggShares' });
    }
    let agg = new Array<bigint>(this.circuit.outputLen).fill(0n);
    for (let j = 0; j < this.shares; j++) {
      const share = decodeVec(this.field, readBytes(`aggShares[${j}]`, aggShares[j]), `aggShares[${j}]`);
      if (share.length !== agg.length) throw new PrivkitError('E_ARG', `aggShares[${j}] must hold ${agg.length} field elements, got ${share.length}`, { argument: 'aggShares', index: j });
      agg = vecAdd(this.field, agg, share);
    }
    return this.circuit.decode(agg, count, noised === true);
  }

  /**
   * {@link Prio3.unshard} of every aggregator's {@link Prio3Aggregator.aggregateShare}, refused unless
   * all aggregated the same reports: their counts and report checksums must agree (DAP's check, see
   * {@link Prio3Aggregator.aggregateShare}). The count is the number of measurements.
   *
   * @param aggShares - one `{ share, count, checksum }` per aggregator, leader first.
   * @param opts - `noised: true` when the aggregators added DP noise (as for unshard).
   * @throws {PrivkitError} E_PROTOCOL when two aggregators' counts or checksums differ (they aggregated
   *   different reports: nothing is unsharded); E_ARG when aggShares is not an array of `shares` objects
   *   with a share, an integer count >= 1 and a 32-byte checksum, or opts is malformed; as unshard otherwise.
   */
  unshardChecked(aggShares: readonly Prio3AggregateShare[], opts: { noised?: boolean } = {}): R {
    if (!Array.isArray(aggShares) || aggShares.length !== this.shares) {
      throw new PrivkitError('E_ARG', `aggShares must be an array of ${this.shares} aggregate shares, got ${describe(aggShares)}`, { argument: 'aggShares' });
    }
    const read = Array.from({ length: this.shares }, (_, j) => {
      const given: unknown = aggShares[j];
      if (typeof given !== 'object' || given === null) throw new PrivkitError('E_ARG', `aggShares[${j}] must be an aggregate share object, got ${describe(given)}`, { argument: `aggShares[${j}]` });
      const o = readOptions(given as Prio3AggregateShare, ['share', 'count', 'checksum'], `aggShares[${j}]`, true);
      return { share: o.share as Uint8Array, count: assertInteger(`aggShares[${j}].count`, o.count, 1), checksum: copyBytes(assertBytes(`aggShares[${j}].checksum`, o.checksum, CHECKSUM_SIZE)) };
    });
    for (let j = 1; j < read.length; j++) assertSameReports(read[j]!, read[0]!, `aggShares[${j}]`, 'aggShares[0]');
    return this.unshard(read.map((a) => a.share), read[0]!.count, opts);
  }

  // ---- Ping-pong topology (section 5.7.1): two aggregators, one round trip ----

  private requireTwo(): void {
    if (this.shares !== 2) throw new PrivkitError('E_ARG', `the ping-pong methods need 2 aggregators, this ${this.name} has ${this.shares}`, { argument: 'shares' });
  }

  /**
   * The leader's first ping-pong step: its verification state and the `initialize` message for the helper.
   *
   * @param input - as for verifyInit, without aggregatorId (the leader is 0).
   * @throws {PrivkitError} as verifyInit; E_ARG when the VDAF has more than 2 aggregators.
   */
  leaderInit(input: Omit<Prio3VerifyInput, 'aggregatorId'>): Prio3LeaderInit {
    this.requireTwo();
    const o = readOptions(input, VERIFY_INPUT_KEYS, 'input');
    // the verifier share is made after room for the message's header: the message without a copy
    const { state, verifierShare: outbound } = this.init(o, 0, this.readCtx(o.ctx), PING_PONG_HEADER);
    writePingPongHeader(outbound, 0);
    return { state, outbound };
  }

  /**
   * The helper's ping-pong step on the leader's `initialize` message: verifies the report and returns
   * its output share and the `finish` message for the leader.
   *
   * @param input - as for verifyInit without aggregatorId (the helper is 1), plus the leader's `inbound` message.
   * @throws {PrivkitError} E_AUTH when the report is invalid (nothing of it may be aggregated); E_PROTOCOL when inbound is not a well-formed `initialize` message; as verifyInit otherwise.
   */
  helperInit(input: Omit<Prio3VerifyInput, 'aggregatorId'> & { inbound: Uint8Array }): Prio3HelperInit {
    this.requireTwo();
    const o = readOptions(input, [...VERIFY_INPUT_KEYS, 'inbound'], 'input');
    const ctx = this.readCtx(o.ctx);
    const checked = this.checkVerifyInput(o, 1);
    const plan = this.wasmPlan(ctx);
    if (plan !== undefined) {
      // verification and the verifier shares' combination in one kernel call: the helper's share never leaves wasm memory
      const inbound = checkBytes('inbound', o.inbound);
      const leaderShare = this.checkVerifierShare(inbound.subarray(pingPongField(inbound, 0)), 0);
      const result = verifyChunkedWasm(plan, 1, this.dst(0, ctx), checked.verifyKey, checked.nonceGiven, checked.publicGiven, checked.inputGiven, 0, leaderShare);
      if (!result.ok) throw this.verifyFailure(result.reason, 1);
      const combined = result.combined!;
      if ('failed' in combined) throw this.proofFailure(combined.failed);
      const state: Prio3VerifyState = { outShare: result.outShare, jointRandSeed: result.jointRandSeed, owner: this };
      pendingStates.add(state);
      return { outShare: this.finish(state, combined.seed), outbound: encodePingPong(2, combined.seed) };
    }
    const { state, verifierShare } = this.initChecked(checked, ctx, 0);
    // the leader's share is read (and copied) before any other code runs
    const inbound = checkBytes('inbound', o.inbound);
    const message = this.combine([inbound.subarray(pingPongField(inbound, 0)), verifierShare], ctx);
    return { outShare: this.finish(state, message), outbound: encodePingPong(2, message) };
  }

  /**
   * The leader's last ping-pong step on the helper's `finish` message: its output share. The message
   * carries no secret (the joint-randomness seed follows from the public share), so it must arrive
   * over a channel that authenticates the helper, or anyone can make the leader keep a report the
   * helper rejected.
   *
   * @throws {PrivkitError} E_AUTH when the joint randomness check fails; E_PROTOCOL when inbound is not a well-formed `finish` message; E_ARG when state is not this VDAF's.
   */
  leaderContinued(state: Prio3VerifyState, inbound: Uint8Array): Uint8Array {
    this.requireTwo();
    const message = checkBytes('inbound', inbound);
    const start = pingPongField(message, 2);
    this.checkState(state);
    return this.finish(state, message, start);
  }
}

/**
 * @internal The leader's verification state of a report whose leaderInit ran on a pool worker: the
 * worker's state (output share, joint randomness seed) made a state of `vdaf` on this thread, ready
 * for one leaderContinued. Only privkit/prio's pooled verification (./batch.ts) calls it, with what a
 * worker's leaderInit returned.
 */
export function adoptLeaderState(vdaf: Prio3<unknown, unknown>, outShare: Uint8Array, jointRandSeed: Uint8Array | undefined): Prio3VerifyState {
  checkEncodedVec(vdaf.circuit.field, outShare, 'outShare');
  const state: Prio3VerifyState = { outShare, jointRandSeed, owner: vdaf };
  pendingStates.add(state);
  return state;
}

/** Bytes of a one-field ping-pong Message before its field: the type byte and the field's 4-byte big-endian length. */
const PING_PONG_HEADER = 5;

/** Writes the header of the one-field ping-pong message of `type` that fills `out` (its field after the header). */
function writePingPongHeader(out: Uint8Array, type: number): void {
  const n = out.length - PING_PONG_HEADER;
  out[0] = type;
  out[1] = n >>> 24;
  out[2] = (n >>> 16) & 0xff;
  out[3] = (n >>> 8) & 0xff;
  out[4] = n & 0xff;
}

/** Encodes a one-field ping-pong Message (the leader's verifier share, the verifier message). */
function encodePingPong(type: number, field: Uint8Array): Uint8Array {
  const out = new Uint8Array(PING_PONG_HEADER + field.length);
  out.set(field, PING_PONG_HEADER);
  writePingPongHeader(out, type);
  return out;
}

/**
 * Where the field of a one-field ping-pong Message of `expectedType` starts in bytes (it runs to the
 * end); E_PROTOCOL when bytes is not such a message. The callers read the field in place: a view
 * (subarray) of a message of 64 bytes or less would first move its bytes off the JS heap, which
 * costs more than a verification step's other allocations.
 */
function pingPongField(bytes: Uint8Array, expectedType: number): number {
  if (bytes.length < 1 || bytes[0] !== expectedType) {
    throw new PrivkitError('E_PROTOCOL', `inbound must be a ping-pong message of type ${expectedType}, got ${bytes.length < 1 ? 'an empty message' : `type ${bytes[0]}`}`);
  }
  if (PING_PONG_HEADER > bytes.length) throw new PrivkitError('E_PROTOCOL', 'inbound ping-pong message is truncated');
  const n = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
  if (PING_PONG_HEADER + n > bytes.length) throw new PrivkitError('E_PROTOCOL', 'inbound ping-pong message is truncated');
  if (PING_PONG_HEADER + n !== bytes.length) throw new PrivkitError('E_PROTOCOL', 'inbound ping-pong message has trailing bytes');
  return PING_PONG_HEADER;
}

/**
 * E_PROTOCOL unless `mine` and `theirs` summarize the same reports (equal counts and checksums). As
 * in DAP, this catches aggregators that diverge by fault (a report lost, kept twice or from another
 * batch); it is not a commitment against a malicious aggregator: XOR is linear over GF(2), so whoever
 * picks reports from a few hundred candidates can solve for another set with the same checksum (the
 * aggregators are trusted for correctness anyway: honest-but-curious).
 */
function assertSameReports(mine: { count: number; checksum: Uint8Array }, theirs: { count: number; checksum: Uint8Array }, mineName: string, theirsName: string): void {
  if (mine.count !== theirs.count) {
    throw new PrivkitError('E_PROTOCOL', `${mineName} aggregated ${mine.count} reports, ${theirsName} ${theirs.count}: the aggregators did not aggregate the same reports`, { argument: mineName });
  }
  if (!equalBytes(mine.checksum, theirs.checksum)) {
    throw new PrivkitError('E_PROTOCOL', `${mineName} and ${theirsName} have different report checksums: the aggregators did not aggregate the same reports`, { argument: mineName });
  }
}

/**
 * One aggregator's running aggregate share: output shares are added as their reports verify. Each
 * report's nonce may be added once (a replayed report is refused). A noised share is released once:
 * after `share({ noiseSigma })` the aggregator is sealed (see {@link Prio3Aggregator.share}).
 *
 * It also keeps DAP's report checksum (draft-ietf-ppm-dap, "Collecting Results": the leader's
 * aggregate share request carries its report count and checksum, the XOR of SHA-256(report ID) over
 * the batch's reports, and the helper refuses with batchMismatch when its own differ): here the
 * report ID is the nonce. {@link Prio3Aggregator.aggregateShare} releases the share with count and
 * checksum and can check a peer's first; {@link Prio3.unshardChecked} refuses mismatched shares.
 */
export class Prio3Aggregator {
  private sum: bigint[];
  private readonly seen = new Set<string>();
  /** XOR of SHA-256(nonce) over the reports added. */
  private readonly digest = new Uint8Array(CHECKSUM_SIZE);
  private readonly field: Field;
  private readonly name: string;
  /** What share() has released: nothing yet, the exact share, or the one noised share (kept for retries). */
  private released: undefined | 'exact' | { sigma: number; share: Uint8Array } = undefined;

  /** @internal */
  constructor(name: string, field: Field, outputLen: number) {
    this.name = name;
    this.field = field;
    this.sum = new Array<bigint>(outputLen).fill(0n);
  }

  /** Number of output shares added. */
  get count(): number {
    return this.seen.size;
  }

  /** The report checksum: XOR of SHA-256(nonce) over the reports added (32 bytes, a copy; zeros when none). */
  get checksum(): Uint8Array {
    return this.digest.slice();
  }

  /**
   * Adds one verified report's output share.
   *
   * @param nonce - the report's nonce (a nonce already added is refused).
   * @param outShare - the output share from verifyNext, helperInit or leaderContinued.
   * @throws {PrivkitError} E_PROTOCOL when the nonce was added before, or a noised share was already released (a second noised release of an updated sum would be a second, uncharged release); E_ARG when nonce is not 16 bytes or outShare is not an output share of this VDAF.
   */
  add(nonce: Uint8Array, outShare: Uint8Array): void {
    const id = copyBytes(assertBytes('nonce', nonce, NONCE_SIZE));
    const key = Array.from(id, (b) => b.toString(16).padStart(2, '0')).join('');
    const share = decodeVec(this.field, readBytes('outShare', outShare), 'outShare');
    if (share.length !== this.sum.length) throw new PrivkitError('E_ARG', `outShare must hold ${this.sum.length} ${this.field.name} elements for ${this.name}, got ${share.length}`, { argument: 'outShare' });
    if (typeof this.released === 'object') throw new PrivkitError('E_PROTOCOL', `this ${this.name} aggregator released its noised share: start a new aggregator for more reports`, { argument: 'outShare' });
    if (this.seen.has(key)) throw new PrivkitError('E_PROTOCOL', `a report with nonce ${key} was already aggregated`, { argument: 'nonce' });
    this.seen.add(key);
    this.sum = vecAdd(this.field, this.sum, share);
    const hash = sha256(id);
    for (let i = 0; i < CHECKSUM_SIZE; i++) this.digest[i]! ^= hash[i]!;
  }

  /**
   * {@link Prio3Aggregator.share} with the count and report checksum of what it sums, for
   * {@link Prio3.unshardChecked}. With `peer` (the other aggregator's count and checksum, as DAP's
   * leader sends them to the helper), a mismatch is refused before anything is released or noised.
   *
   * @param opts - `noiseSigma` and `rng` as for share; `peer`: `{ count, checksum }` to compare first.
   * @throws {PrivkitError} E_PROTOCOL when peer's count or checksum differs from this aggregator's (nothing is released), or as share;
   *   E_ARG when peer is not an object with an integer count >= 0 and a 32-byte checksum, or as share.
   */
  aggregateShare(opts: { noiseSigma?: number; rng?: Rng; peer?: { count: number; checksum: Uint8Array } } = {}): Prio3AggregateShare {
    const o = readOptions(opts, ['noiseSigma', 'rng', 'peer'], 'opts', true);
    if (o.peer !== undefined) {
      const p = readOptions(o.peer, ['count', 'checksum'], 'opts.peer', true);
      const peer = { count: assertInteger('opts.peer.count', p.count, 0), checksum: assertBytes('opts.peer.checksum', p.checksum, CHECKSUM_SIZE) };
      assertSameReports(peer, { count: this.count, checksum: this.digest }, 'opts.peer', `this ${this.name} aggregator`);
    }
    const share = this.share({ ...(o.noiseSigma === undefined ? {} : { noiseSigma: o.noiseSigma }), ...(o.rng === undefined ? {} : { rng: o.rng }) });
    return { share, count: this.count, checksum: this.checksum };
  }

  /**
   * The encoded aggregate share, sent to the collector. With `noiseSigma`, this aggregator's share
   * gets exact discrete Gaussian noise N_Z(0, noiseSigma^2) added to every element (mod p; Canonne,
   * Kamath and Steinke 2020, privkit/dp's discreteGaussian): the released aggregate is then DP against
   * the other aggregators (each knows its own noise, not this one's) and against every other observer;
   * the collector unshards with `{ noised: true }`. For replace-one neighbours the sensitivity of a
   * histogram or count vector is sqrt(2) (one report moves one unit between two buckets), of a Sum or
   * SumVec its max change in L2 norm: the accountant's zCDP is rho = sensitivity^2 / (2 noiseSigma^2)
   * per release against an aggregator (one other noise).
   *
   * One release per aggregator: the noise is drawn once, and a repeated call with the same noiseSigma
   * returns the same bytes (a retried send reveals nothing new). Fresh noise for a second call would
   * hand out independent noisy copies of one sum, whose average has noise sigma / sqrt(k): k uncharged
   * releases. So after a noised share, another noiseSigma, an exact share() or add() is E_PROTOCOL, and
   * a noised share after an exact one is E_PROTOCOL too (the exact share may have left already).
   *
   * @param opts - `noiseSigma` (> 0, at most 2^24; default no noise) and `rng` (default the CSPRNG; a seeded rng only for tests).
   * @throws {PrivkitError} E_ARG when opts is not an object, noiseSigma is not finite in [1/2, 2^24], or rng is not made by createRng;
   *   E_PROTOCOL when the release would be a second one (see above).
   */
  share(opts: { noiseSigma?: number; rng?: Rng } = {}): Uint8Array {
    const o = readOptions(opts, ['noiseSigma', 'rng'], 'opts', true);
    const released = this.released;
    if (o.noiseSigma === undefined) {
      if (o.rng !== undefined) throw new PrivkitError('E_ARG', 'opts.rng is only used with opts.noiseSigma', { argument: 'opts.rng' });
      if (typeof released === 'object') throw new PrivkitError('E_PROTOCOL', `this ${this.name} aggregator released a noised share: its exact share would undo the noise`, { argument: 'opts.noiseSigma' });
      this.released = 'exact';
      return encodeVec(this.field, this.sum);
    }
    const sigma = assertNumber('opts.noiseSigma', o.noiseSigma, 'positive');
    if (sigma < 0.5 || sigma > MAX_DISCRETE_SCALE) throw new PrivkitError('E_ARG', `opts.noiseSigma must be in [1/2, 2^24], got ${sigma}`, { argument: 'opts.noiseSigma' });
    if (o.rng !== undefined && !isRng(o.rng)) throw new PrivkitError('E_ARG', `opts.rng must be a generator made by createRng, got ${describe(o.rng)}`, { argument: 'opts.rng' });
    if (released === 'exact') throw new PrivkitError('E_PROTOCOL', `this ${this.name} aggregator already released its exact share: noise added now would not protect the sum`, { argument: 'opts.noiseSigma' });
    if (released !== undefined) {
      if (released.sigma !== sigma) throw new PrivkitError('E_PROTOCOL', `this ${this.name} aggregator released its share with noiseSigma ${released.sigma}: a second release (noiseSigma ${sigma}) is refused`, { argument: 'opts.noiseSigma' });
      return released.share.slice();
    }
    const noise = discreteGaussian(this.sum.length, sigma, { rng: o.rng ?? (defaultRng ??= createRng()) });
    const p = this.field.modulus;
    const share = encodeVec(this.field, this.sum.map((x, i) => (x + BigInt(noise[i]!) + p) % p));
    this.released = { sigma, share };
    return share.slice();
  }
}
