// Serves src/prio/kernels.ts (reference: the step-by-step path of src/prio/prio3.ts and flp.ts).
// Prio3 (draft-irtf-cfrg-vdaf-20, 7.2) for the circuits whose only gadget is the chunked bit check
// (ParallelSum(Mul) over (r^(j+1) x_j, x_j - 1/shares): SumVec, Histogram, MultihotCountVec), each
// step one kernel call: the client's sharding, one aggregator's verification (input share ->
// verifier share, joint-randomness seed, output share) and the combination of the verifier shares
// (decision and joint-randomness seed). Every XOF message, random vector, wire check and gadget
// evaluation stays in the caller's scratch block, which the caller allocates secret (wiped after
// the call). The circuit's output beyond the bit check, if any, is a linear check of the measurement
// share: the sum of its first elements plus a weighted sum of the next ones, minus a constant /
// shares (Histogram: the sum minus 1; MultihotCountVec: the count minus the encoded weight); the
// output share is weighted sums of the measurement share (SumVec) or its first elements (Histogram,
// MultihotCountVec).
import { addVec, chunkGadgetPoly, chunkGadgetPolyScratchBytes, chunkWireChecks, chunkWireChecksScratchBytes, dotMontgomery, extendLast, lagrangeEval, lagrangeEvalScratchBytes, mulVec, powerIsOne, sumVec, weightedSums } from './field';
import { SHAKE_STATE_BYTES, turboShake128, xofExpand } from './keccak';

const SEED: usize = 32;
const NONCE: usize = 16;
const USAGE_MEAS_SHARE = 1;
const USAGE_PROOF_SHARE = 2;
const USAGE_JOINT_RANDOMNESS = 3;
const USAGE_PROVE_RANDOMNESS = 4;
const USAGE_QUERY_RANDOMNESS = 5;
const USAGE_JOINT_RAND_SEED = 6;
const USAGE_JOINT_RAND_PART = 7;

/** verifyChunked's results (src/prio/kernels.ts reads them): the verifier share is made, */
const VERIFY_OK = 0;
/** the aggregator's joint-randomness part differs from the public share's, */
const VERIFY_BAD_PART = 1;
/** or the query randomness hit a root of unity (the test point is a wire node). */
const VERIFY_ROOT_OF_UNITY = 2;

// @ts-ignore: decorator
@inline function elementBytes(field: i32): usize {
  return field == 64 ? 8 : 16;
}

// @ts-ignore: decorator
@inline function align(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

/**
 * Writes the head of an XofTurboShake128 message, le16(|dst|) || dst || u8(32) || seed, at msg; dst
 * is the draft's 8-byte prefix (its usage bytes, 6 and 7, set here) and the ctx. Returns where the
 * binder goes.
 */
function xofHead(msg: usize, dst: usize, dstLen: i32, usage: i32, seed: usize): usize {
  store<u8>(msg, <u8>(dstLen & 0xff));
  store<u8>(msg, <u8>(dstLen >> 8), 1);
  memory.copy(msg + 2, dst, <usize>dstLen);
  store<u8>(msg + 2, <u8>(usage >> 8), 6);
  store<u8>(msg + 2, <u8>(usage & 0xff), 7);
  store<u8>(msg + 2 + <usize>dstLen, <u8>SEED);
  memory.copy(msg + 3 + <usize>dstLen, seed, SEED);
  return msg + 3 + <usize>dstLen + SEED;
}

/** Bytes of the XOF message buffer: the head and the longest binder (a measurement share, or every joint-randomness part). */
function messageBytes(field: i32, shares: i32, measLen: i32, dstLen: i32): usize {
  const binder = max<usize>(1 + NONCE + <usize>measLen * elementBytes(field), <usize>shares * SEED);
  return align(3 + <usize>dstLen + SEED + binder);
}

/** The joint-randomness part of aggregator `aggId`: derived from its blind over aggId || nonce || its measurement share. */
function jointRandPart(field: i32, msg: usize, dst: usize, dstLen: i32, blind: usize, aggId: i32, nonce: usize, meas: usize, measLen: i32, out: usize, st: usize): void {
  const binder = xofHead(msg, dst, dstLen, USAGE_JOINT_RAND_PART, blind);
  store<u8>(binder, <u8>aggId);
  memory.copy(binder + 1, nonce, NONCE);
  const measBytes = <usize>measLen * elementBytes(field);
  memory.copy(binder + 1 + NONCE, meas, measBytes);
  turboShake128(msg, <i32>(binder + 1 + NONCE + measBytes - msg), 1, out, <i32>SEED, st);
}

/** The joint-randomness seed (derived from the zero seed over every part) and the `count` joint randomness elements from it. */
function jointRands(field: i32, msg: usize, dst: usize, dstLen: i32, parts: usize, shares: i32, proofs: i32, seedOut: usize, count: i32, out: usize, st: usize): void {
  const zero = seedOut;
  memory.fill(zero, 0, SEED);
  let binder = xofHead(msg, dst, dstLen, USAGE_JOINT_RAND_SEED, zero);
  memory.copy(binder, parts, <usize>shares * SEED);
  turboShake128(msg, <i32>(binder + <usize>shares * SEED - msg), 1, seedOut, <i32>SEED, st);
  binder = xofHead(msg, dst, dstLen, USAGE_JOINT_RANDOMNESS, seedOut);
  store<u8>(binder, <u8>proofs);
  xofExpand(field, msg, <i32>(binder + 1 - msg), out, count, st);
}

/** Expands `seed` into `count` elements with a one- or two-byte binder (b1 < 0: one byte b0). */
function expand(field: i32, msg: usize, dst: usize, dstLen: i32, usage: i32, seed: usize, b0: i32, b1: i32, out: usize, count: i32, st: usize): void {
  const binder = xofHead(msg, dst, dstLen, usage, seed);
  store<u8>(binder, <u8>b0);
  if (b1 >= 0) store<u8>(binder, <u8>b1, 1);
  xofExpand(field, msg, <i32>(binder + (b1 >= 0 ? 2 : 1) - msg), out, count, st);
}

/** Field elements of one proof: the 2 * chunk wire seeds and the gadget polynomial's 2p - 1 evaluations. */
// @ts-ignore: decorator
@inline function proofLength(chunk: i32, p: i32): i32 {
  return 2 * chunk + 2 * p - 1;
}

/** Field elements of one verifier: the circuit output, the 2 * chunk wire checks and the gadget check. */
// @ts-ignore: decorator
@inline function verifierLength(chunk: i32): i32 {
  return 2 * chunk + 2;
}

/** Bytes of shardChunked's scratch block. */
export function shardChunkedScratchBytes(field: i32, shares: i32, proofs: i32, measLen: i32, chunk: i32, calls: i32, p: i32, dstLen: i32): i32 {
  const size = elementBytes(field);
  const arity = <usize>(2 * chunk);
  return <i32>(
    align(<usize>SHAKE_STATE_BYTES) +
    messageBytes(field, shares, measLen, dstLen) +
    align(<usize>measLen * size) +
    align(arity * <usize>proofs * size) +
    align(<usize>(calls * proofs) * size) +
    align(<usize>(proofLength(chunk, p) * proofs) * size) +
    align(<usize>(2 * p) * size) +
    align(SEED) +
    align(<usize>chunkGadgetPolyScratchBytes(field, p, calls))
  );
}

/**
 * A client's sharding of the encoded measurement at meas (measLen canonical elements) with the
 * sharding randomness at rand (2 * shares seeds: each helper's seed and blind, the leader's blind,
 * the prove seed) and the nonce: the leader's input share (measurement share, proofs share, blind)
 * into leaderOut and the public share (every joint-randomness part) into publicOut. The helpers'
 * input shares are their seeds and blinds. consts: 1, W_p, W_p^-1, W_2p and 1/p (canonical).
 * sparseBelow: chunkGadgetPoly's (0 unless the circuit's valid measurements are one-hot).
 */
export function shardChunked(
  field: i32, shares: i32, proofs: i32, measLen: i32, chunk: i32, calls: i32, p: i32, sparseBelow: i32,
  dst: usize, dstLen: i32, consts: usize, meas: usize, rand: usize, nonce: usize,
  leaderOut: usize, publicOut: usize, scratch: usize,
): void {
  const size = elementBytes(field);
  const arity = 2 * chunk;
  const proofLen = proofLength(chunk, p);
  const st = scratch;
  const msg = st + align(<usize>SHAKE_STATE_BYTES);
  const helperMeas = msg + messageBytes(field, shares, measLen, dstLen);
  const proveRands = helperMeas + align(<usize>measLen * size);
  const joint = proveRands + align(<usize>(arity * proofs) * size);
  const helperProofs = joint + align(<usize>(calls * proofs) * size);
  const gadget = helperProofs + align(<usize>(proofLen * proofs) * size);
  const seed = gadget + align(<usize>(2 * p) * size);
  const kernelScratch = seed + align(SEED);

  const leaderMeas = leaderOut;
  const leaderProofs = leaderOut + <usize>measLen * size;
  const leaderBlind = rand + <usize>(2 * (shares - 1)) * SEED;
  const proveSeed = leaderBlind + SEED;
  memory.copy(leaderMeas, meas, <usize>measLen * size);
  for (let j = 1; j < shares; j++) {
    const helperSeed = rand + <usize>(2 * (j - 1)) * SEED;
    expand(field, msg, dst, dstLen, USAGE_MEAS_SHARE, helperSeed, j, -1, helperMeas, measLen, st);
    addVec(field, leaderMeas, leaderMeas, helperMeas, measLen, true);
    jointRandPart(field, msg, dst, dstLen, helperSeed + SEED, j, nonce, helperMeas, measLen, publicOut + <usize>j * SEED, st);
  }
  jointRandPart(field, msg, dst, dstLen, leaderBlind, 0, nonce, leaderMeas, measLen, publicOut, st);

  expand(field, msg, dst, dstLen, USAGE_PROVE_RANDOMNESS, proveSeed, proofs, -1, proveRands, arity * proofs, st);
  jointRands(field, msg, dst, dstLen, publicOut, shares, proofs, seed, calls * proofs, joint, st);
  // each proof: its wire seeds, then the gadget polynomial of the wires made from the whole
  // measurement (one share: 1/shares is 1)
  for (let i = 0; i < proofs; i++) {
    const proof = leaderProofs + <usize>(i * proofLen) * size;
    const seeds = proveRands + <usize>(i * arity) * size;
    chunkGadgetPoly(field, meas, measLen, joint + <usize>(i * calls) * size, calls, chunk, consts, seeds, p, sparseBelow, consts + size, gadget, kernelScratch);
    memory.copy(proof, seeds, <usize>arity * size);
    memory.copy(proof + <usize>arity * size, gadget, <usize>(2 * p - 1) * size);
  }
  for (let j = 1; j < shares; j++) {
    const helperSeed = rand + <usize>(2 * (j - 1)) * SEED;
    expand(field, msg, dst, dstLen, USAGE_PROOF_SHARE, helperSeed, proofs, j, helperProofs, proofLen * proofs, st);
    addVec(field, leaderProofs, leaderProofs, helperProofs, proofLen * proofs, true);
  }
  memory.copy(leaderProofs + <usize>(proofLen * proofs) * size, leaderBlind, SEED);
}

/** Bytes of verifyChunked's scratch block. */
export function verifyChunkedScratchBytes(field: i32, shares: i32, proofs: i32, measLen: i32, chunk: i32, calls: i32, p: i32, dstLen: i32): i32 {
  const size = elementBytes(field);
  return <i32>(
    align(<usize>SHAKE_STATE_BYTES) +
    messageBytes(field, shares, measLen, dstLen) +
    align(<usize>measLen * size) +
    align(<usize>(proofLength(chunk, p) * proofs) * size) +
    align(<usize>(calls * proofs) * size) +
    align(<usize>(3 * proofs) * size) +
    align(8 * size) +
    align(<usize>(2 * p) * size) +
    align(<usize>max(chunkWireChecksScratchBytes(field, p), lagrangeEvalScratchBytes(field, 1, 2 * p)))
  );
}

/**
 * One aggregator's verification of its input share: the verifier share (per proof: the circuit
 * output, the wire checks, the gadget check; then this aggregator's joint-randomness part) into
 * verifierOut, the joint-randomness seed into seedOut and the output share into outShare. The
 * leader's input share (aggId 0) holds its measurement share and proofs share (canonical, checked by
 * the caller) and its blind; a helper's its seed and blind. `outputs` is 1 (the bit check only) or 2
 * (and the linear check: sum_(i < ones) x_i + sum_l tail[l] x_(ones + l) - linearConst / shares,
 * l < tailLen). The output share is out[i] = sum_l truncWeights[l] x[i * truncWidth + l],
 * i < truncCount, or with truncWidth 0 the first truncCount elements. consts: 1/shares, 1/p,
 * 1/2p and linearConst (canonical); the weights tail and truncWeights are in Montgomery form;
 * nodes: W_p^i (i < p), then W_2p^i (i < 2p), in Montgomery form (the circuit's constants, made
 * once by the caller: see nodePowers). Returns VERIFY_OK, or VERIFY_BAD_PART or
 * VERIFY_ROOT_OF_UNITY (the report must be refused).
 */
export function verifyChunked(
  field: i32, shares: i32, proofs: i32, measLen: i32, chunk: i32, calls: i32, p: i32, outputs: i32, aggId: i32,
  dst: usize, dstLen: i32, consts: usize, verifyKey: usize, nonce: usize, publicShare: usize, inputShare: usize,
  ones: i32, tail: usize, tailLen: i32, truncCount: i32, truncWidth: i32, truncWeights: usize, nodes: usize,
  verifierOut: usize, seedOut: usize, outShare: usize, scratch: usize,
): i32 {
  const size = elementBytes(field);
  const arity = 2 * chunk;
  const proofLen = proofLength(chunk, p);
  const queryLen = outputs > 1 ? 1 + outputs : 1;
  const st = scratch;
  const msg = st + align(<usize>SHAKE_STATE_BYTES);
  const helperMeas = msg + messageBytes(field, shares, measLen, dstLen);
  const helperProofs = helperMeas + align(<usize>measLen * size);
  const joint = helperProofs + align(<usize>(proofLen * proofs) * size);
  const query = joint + align(<usize>(calls * proofs) * size);
  const tmp = query + align(<usize>(3 * proofs) * size);
  const poly = tmp + align(8 * size);
  const kernelScratch = poly + align(<usize>(2 * p) * size);

  let meas = inputShare;
  let proofsShare = inputShare + <usize>measLen * size;
  let blind = proofsShare + <usize>(proofLen * proofs) * size;
  if (aggId > 0) {
    meas = helperMeas;
    proofsShare = helperProofs;
    blind = inputShare + SEED;
    expand(field, msg, dst, dstLen, USAGE_MEAS_SHARE, inputShare, aggId, -1, meas, measLen, st);
    expand(field, msg, dst, dstLen, USAGE_PROOF_SHARE, inputShare, proofs, aggId, proofsShare, proofLen * proofs, st);
  }
  const verifierLen = verifierLength(chunk);
  const part = verifierOut + <usize>(verifierLen * proofs) * size;
  jointRandPart(field, msg, dst, dstLen, blind, aggId, nonce, meas, measLen, part, st);
  // Beyond the draft (as the step-by-step path): an aggregator refuses a public share whose part of
  // its own differs, so honest aggregators never decide differently
  let differs: u64 = 0;
  const given = publicShare + <usize>aggId * SEED;
  for (let i: usize = 0; i < SEED; i += 8) differs |= load<u64>(part + i) ^ load<u64>(given + i);
  if (differs != 0) return VERIFY_BAD_PART;
  jointRands(field, msg, dst, dstLen, publicShare, shares, proofs, seedOut, calls * proofs, joint, st);
  const binder = xofHead(msg, dst, dstLen, USAGE_QUERY_RANDOMNESS, verifyKey);
  store<u8>(binder, <u8>proofs);
  memory.copy(binder + 1, nonce, NONCE);
  xofExpand(field, msg, <i32>(binder + 1 + NONCE - msg), query, queryLen * proofs, st);

  const sharesInv = consts;
  const invP = consts + size;
  const inv2p = consts + 2 * size;
  const linearConst = consts + 3 * size;
  // the linear check of the measurement share (the same for every proof): tmp[6]
  const linearCheck = tmp + 6 * size;
  if (outputs > 1) {
    // the sum of the first elements, then the tail's dot product
    sumVec(field, meas, ones, linearCheck);
    dotMontgomery(field, meas + <usize>ones * size, 1, tail, tailLen, tmp);
    addVec(field, linearCheck, linearCheck, tmp, 1, false);
    mulVec(field, tmp, linearConst, sharesInv, 1);
    addVec(field, linearCheck, linearCheck, tmp, 1, true);
  }
  for (let i = 0; i < proofs; i++) {
    const proof = proofsShare + <usize>(i * proofLen) * size;
    const gadgetPoly = proof + <usize>arity * size;
    const r = query + <usize>(i * queryLen) * size;
    const t = r + <usize>(queryLen - 1) * size;
    // t^p = 1 would put the test point on a wire node (section 7.3.4); p is a power of 2
    if (powerIsOne(field, t, p)) return VERIFY_ROOT_OF_UNITY;
    const verifier = verifierOut + <usize>(i * verifierLen) * size;
    // wire checks at t: consts t, 1/p
    memory.copy(tmp, t, size);
    memory.copy(tmp + size, invP, size);
    chunkWireChecks(field, meas, measLen, joint + <usize>(i * calls) * size, calls, chunk, sharesInv, proof, p, nodes, tmp, verifier + size, kernelScratch);
    // the gadget check: the proof's 2p - 1 evaluations completed, evaluated at t (t, 1/2p)
    const nodes2p = nodes + <usize>p * size;
    memory.copy(poly, gadgetPoly, <usize>(2 * p - 1) * size);
    extendLast(field, poly, 2 * p, nodes2p);
    memory.copy(tmp, t, size);
    memory.copy(tmp + size, inv2p, size);
    lagrangeEval(field, poly, 1, 2 * p, nodes2p, tmp, verifier + <usize>(1 + arity) * size, kernelScratch);
    // the bit check's output: the sum of the gadget's values at the calls' nodes W_p^k = W_2p^(2k)
    memory.fill(verifier, 0, size);
    for (let k = 1; k <= calls; k++) addVec(field, verifier, verifier, gadgetPoly + <usize>(2 * k) * size, 1, false);
    if (outputs > 1) {
      // r_0 * bit check + r_1 * linear check
      memory.copy(tmp, verifier, size);
      memory.copy(tmp + size, linearCheck, size);
      memory.copy(tmp + 2 * size, r, 2 * size);
      weightedSums(field, tmp, 1, 2, tmp + 2 * size, verifier);
    }
  }
  if (truncWidth == 0) memory.copy(outShare, meas, <usize>truncCount * size);
  for (let i = 0; i < truncCount && truncWidth > 0; i++) dotMontgomery(field, meas + <usize>(i * truncWidth) * size, 1, truncWeights, truncWidth, outShare + <usize>i * size);
  return VERIFY_OK;
}

/** Bytes of combineChunked's scratch block. */
export function combineChunkedScratchBytes(field: i32, shares: i32, proofs: i32, chunk: i32, dstLen: i32): i32 {
  const size = elementBytes(field);
  return <i32>(align(<usize>SHAKE_STATE_BYTES) + align(3 + <usize>dstLen + SEED + <usize>shares * SEED) + align(<usize>(verifierLength(chunk) * proofs) * size) + align(2 * size) + align(<usize>shares * SEED));
}

/**
 * The verifier message of `shares` verifier shares (each: proofs verifiers of canonical elements,
 * then a joint-randomness part; consecutive at verifierShares): decides every proof (the circuit
 * output is zero and the gadget, sum_j w_2j w_2j+1, of the wire checks equals the gadget check) and
 * writes the joint-randomness seed of the parts into seedOut. Returns 0, or 1 + the first proof that
 * fails.
 */
export function combineChunked(field: i32, shares: i32, proofs: i32, chunk: i32, dst: usize, dstLen: i32, verifierShares: usize, seedOut: usize, scratch: usize): i32 {
  const size = elementBytes(field);
  const verifierLen = verifierLength(chunk);
  const count = verifierLen * proofs;
  const shareBytes = <usize>count * size + SEED;
  const st = scratch;
  const msg = st + align(<usize>SHAKE_STATE_BYTES);
  const sum = msg + align(3 + <usize>dstLen + SEED + <usize>shares * SEED);
  const tmp = sum + align(<usize>count * size);
  const parts = tmp + align(2 * size);
  memory.copy(sum, verifierShares, <usize>count * size);
  for (let j = 1; j < shares; j++) addVec(field, sum, sum, verifierShares + <usize>j * shareBytes, count, false);
  for (let i = 0; i < proofs; i++) {
    const verifier = sum + <usize>(i * verifierLen) * size;
    let outputNonZero = load<u64>(verifier);
    if (field == 128) outputNonZero |= load<u64>(verifier, 8);
    if (outputNonZero != 0) return 1 + i;
    memory.fill(tmp, 0, size);
    for (let j = 0; j < chunk; j++) {
      const w = verifier + <usize>(1 + 2 * j) * size;
      mulVec(field, tmp + size, w, w + size, 1);
      addVec(field, tmp, tmp, tmp + size, 1, false);
    }
    const check = verifier + <usize>(1 + 2 * chunk) * size;
    let differs = load<u64>(tmp) ^ load<u64>(check);
    if (field == 128) differs |= load<u64>(tmp, 8) ^ load<u64>(check, 8);
    if (differs != 0) return 1 + i;
  }
  for (let j = 0; j < shares; j++) memory.copy(parts + <usize>j * SEED, verifierShares + <usize>j * shareBytes + <usize>count * size, SEED);
  const zero = seedOut;
  memory.fill(zero, 0, SEED);
  const binder = xofHead(msg, dst, dstLen, USAGE_JOINT_RAND_SEED, zero);
  memory.copy(binder, parts, <usize>shares * SEED);
  turboShake128(msg, <i32>(binder + <usize>shares * SEED - msg), 1, seedOut, <i32>SEED, st);
  return 0;
}
