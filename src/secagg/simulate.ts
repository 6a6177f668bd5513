// One secure-aggregation round with every client and the server in this thread, over an in-memory
// transport. By default each message crosses the wire format (encodeMessage -> JSON text ->
// decodeMessage with the round's limits), so a simulation exercises exactly what a browser and a
// Node server exchange. Each simulated client gets a fresh Ed25519 key pair, and both the clients
// and the server are given the full participant list with those keys (the strongest setting, as
// with an application-side PKI); each client's minParticipants is the server's minSurvivors.
// Dropouts are scripted by client index at the three points where Bonawitz et al. 2017 (§4)
// must recover: before ShareKeys (never masked with anyone), before MaskedInputCollection (their
// pairwise masks are in the survivors' inputs) and after it (their input is in the sum, but they
// neither sign the survivor set nor reveal shares).
import { PrivkitError } from '../errors.js';
import { assertOneOf, describe, readOptions } from '../validate.js';
import { readArray } from '../validate-arrays.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { SecAggClient } from './client.js';
import { generateSigningKeyPair, type KeyAgreementCurve } from './crypto.js';
import { MAX_CLIENTS } from './limits.js';
import { decodeMessage, encodeMessage, type ClientMessage, type SecAggMessage } from './messages.js';
import { SecAggServer } from './server.js';

/** Options of {@link simulateRound}. */
export interface SimulateRoundOptions {
  /** One input per client, all of one length, values < 2^bits. */
  inputs: readonly Uint32Array[];
  /** The word size b: inputs and sum live in Z_2^bits (1 to 32). */
  bits: number;
  /** The Shamir threshold t, a strict majority of a neighbourhood (as {@link SecAggServerOptions.threshold}). */
  threshold: number;
  /** SecAgg+ degree k (default: complete graph). */
  neighbours?: number;
  /** The server's minSurvivors: fewest masked inputs it unmasks (default: the threshold). */
  minSurvivors?: number;
  /** Clients (by index) that advertise keys, then drop before ShareKeys. */
  dropBeforeShareKeys?: readonly number[];
  /** Clients that share keys, then drop before sending their masked input. */
  dropBeforeMaskedInput?: readonly number[];
  /** Clients that send their masked input, then drop before ConsistencyCheck and Unmasking. */
  dropAfterMaskedInput?: readonly number[];
  /** The round id (default: random). */
  roundId?: string;
  /** The key-agreement curve (default: X25519 where available, else P-256). */
  curve?: KeyAgreementCurve;
  /** 'json' (default): every message goes through encodeMessage/JSON/decodeMessage; 'structured-clone': through structuredClone. */
  wire?: 'json' | 'structured-clone';
}

/** The outcome of {@link simulateRound}. */
export interface SimulateRoundResult {
  /** Sum of the included inputs mod 2^bits. */
  sum: Uint32Array;
  /** Indices of the clients whose inputs are in the sum. */
  included: number[];
  /** Messages the clients sent to the server. */
  messagesToServer: number;
  /** Bytes of those messages on the wire (JSON text; 0 with structured clone). */
  bytesToServer: number;
  /** Wall-clock milliseconds: the whole round, and the server's closeUnmasking (reconstruction and unmasking). */
  timings: {
    /** The whole round, signing keys included. */
    totalMs: number;
    /** The server's closeUnmasking. */
    unmaskMs: number;
  };
}

/**
 * Runs one secure-aggregation round with every client (ids `client-0`, `client-1`, ...) and the
 * server in this thread, each message through the wire format by default, with scripted dropouts
 * at the three points where the protocol must recover. For tests, benchmarks and demos.
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when inputs is empty or not an array, wire is unknown, a dropout index is not a distinct client index, or a round parameter is out of range (as {@link SecAggServer}).
 * @throws {PrivkitError} E_THRESHOLD (as a rejection) when the dropouts leave too few clients to finish.
 * @throws {PrivkitError} E_ARG, E_SHAPE (as a rejection) when an input is not a Uint32Array of the round's length with values < 2^bits.
 *
 * @example
 * ```ts
 * import { simulateRound } from 'privkit/secagg';
 * const inputs = [1, 2, 3, 4, 5].map((v) => new Uint32Array([v, 100 * v]));
 * const { sum, included } = await simulateRound({ inputs, bits: 16, threshold: 3, dropBeforeMaskedInput: [4] });
 * // sum = [10, 1000] (client 4 dropped before sending its input), included = [0, 1, 2, 3]
 * ```
 */
export async function simulateRound(options: SimulateRoundOptions): Promise<SimulateRoundResult> {
  const start = performance.now();
  const read = readOptions(
    options,
    ['inputs', 'bits', 'threshold', 'neighbours', 'minSurvivors', 'dropBeforeShareKeys', 'dropBeforeMaskedInput', 'dropAfterMaskedInput', 'roundId', 'curve', 'wire'],
    'options',
  ) as SimulateRoundOptions;
  const { inputs: given, bits, threshold, neighbours, minSurvivors, roundId, curve } = read;
  if (!Array.isArray(given) || given.length === 0) {
    throw new PrivkitError('E_ARG', `inputs must be a non-empty array of Uint32Array, got ${describe(given)}`, { argument: 'inputs' });
  }
  const inputs = readArray('inputs', given, (name, input) => checkTypedArray(name, input, ['Uint32Array']), MAX_CLIENTS);
  const mismatch = inputs.findIndex((input) => input.length !== inputs[0]!.length);
  if (mismatch >= 0) throw new PrivkitError('E_SHAPE', `inputs[${mismatch}] has length ${inputs[mismatch]!.length}, inputs[0] ${inputs[0]!.length}`, { argument: 'inputs', index: mismatch });
  const wire = assertOneOf('wire', read.wire, ['json', 'structured-clone'] as const, 'json');
  const length = inputs[0]!.length;
  const ids = inputs.map((_, i) => `client-${i}`);
  const drops = dropSchedule(read, inputs.length);

  const signingKeys = await Promise.all(ids.map(() => generateSigningKeyPair()));
  const expectedParticipants = ids.map((id, i) => ({ id, signingPublicKey: signingKeys[i]!.publicKey }));
  const server = new SecAggServer({
    clients: ids,
    bits,
    length,
    threshold,
    expectedParticipants,
    ...(neighbours === undefined ? {} : { neighbours }),
    ...(minSurvivors === undefined ? {} : { minSurvivors }),
    ...(roundId === undefined ? {} : { roundId }),
    ...(curve === undefined ? {} : { curve }),
  });
  const minParticipants = minSurvivors === undefined ? threshold : minSurvivors;
  const clients = ids.map((id, i) => new SecAggClient(id, { minParticipants, signingKey: signingKeys[i]!, expectedParticipants }));
  const setup = await server.setup();

  let messagesToServer = 0;
  let bytesToServer = 0;
  const transfer = <T extends SecAggMessage>(message: T, toServer: boolean): T => {
    if (toServer) messagesToServer++;
    if (wire === 'structured-clone') return structuredClone(message);
    const text = JSON.stringify(encodeMessage(message));
    if (toServer) bytesToServer += text.length;
    return decodeMessage(text, { setup }) as T;
  };
  const deliver = async (messages: readonly ClientMessage[]) => {
    await Promise.all(messages.map((message) => server.receive(transfer(message, true))));
  };

  await deliver(await Promise.all(clients.map((client) => client.advertiseKeys(transfer(setup, false)))));
  const keys = server.closeAdvertiseKeys();

  const sharing = clients.filter((client, i) => !drops.beforeShareKeys.has(i) && keys.has(client.id));
  await deliver(await Promise.all(sharing.map((client) => client.shareKeys(transfer(keys.get(client.id)!, false)))));
  const shares = server.closeShareKeys();

  const masking = sharing.filter((client) => !drops.beforeMaskedInput.has(ids.indexOf(client.id)) && shares.has(client.id));
  await deliver(
    await Promise.all(masking.map((client) => client.maskedInput(transfer(shares.get(client.id)!, false), inputs[ids.indexOf(client.id)]!))),
  );
  const checks = server.closeMaskedInput();

  const signing = masking.filter((client) => !drops.afterMaskedInput.has(ids.indexOf(client.id)) && checks.has(client.id));
  await deliver(await Promise.all(signing.map((client) => client.consistencyCheck(transfer(checks.get(client.id)!, false)))));
  const requests = server.closeConsistencyCheck();

  const unmasking = signing.filter((client) => requests.has(client.id));
  await deliver(await Promise.all(unmasking.map((client) => client.unmask(transfer(requests.get(client.id)!, false)))));
  const unmaskStart = performance.now();
  const result = await server.closeUnmasking();
  const end = performance.now();

  return {
    sum: result.sum,
    included: result.included.map((id) => ids.indexOf(id)),
    messagesToServer,
    bytesToServer,
    timings: { totalMs: end - start, unmaskMs: end - unmaskStart },
  };
}

/** The three dropout sets; each index in [0, n) and in at most one set. */
function dropSchedule(options: SimulateRoundOptions, n: number) {
  const seen = new Set<number>();
  const read = (name: 'dropBeforeShareKeys' | 'dropBeforeMaskedInput' | 'dropAfterMaskedInput'): Set<number> => {
    const list = options[name] === undefined ? [] : options[name];
    if (!Array.isArray(list)) throw new PrivkitError('E_ARG', `${name} must be an array of client indices`, { argument: name });
    const indices = new Set<number>();
    for (let k = 0; k < list.length; k++) {
      const i: unknown = list[k];
      if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0 || i >= n || seen.has(i)) {
        throw new PrivkitError('E_ARG', `${name}[${k}] = ${describe(i)} is not a distinct client index in [0, ${n})`, {
          argument: name,
          index: k,
        });
      }
      seen.add(i);
      indices.add(i);
    }
    return indices;
  };
  return {
    beforeShareKeys: read('dropBeforeShareKeys'),
    beforeMaskedInput: read('dropBeforeMaskedInput'),
    afterMaskedInput: read('dropAfterMaskedInput'),
  };
}
