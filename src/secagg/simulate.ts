// One secure-aggregation round with every client and the server in this thread, over an in-memory
// transport. By default each message crosses the wire format (encodeMessage -> JSON text ->
// decodeMessage), so a simulation exercises exactly what a browser and a Node server exchange.
// Dropouts are scripted by client index at the three points where Bonawitz et al. 2017 (§4)
// must recover: before ShareKeys (never masked with anyone), before MaskedInputCollection (their
// pairwise masks are in the survivors' inputs) and after it (their input is excluded).
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { SecAggClient } from './client.js';
import type { KeyAgreementCurve } from './crypto.js';
import { decodeMessage, encodeMessage, type SecAggMessage } from './messages.js';
import { SecAggServer } from './server.js';

export interface SimulateRoundOptions {
  /** One input per client, all of one length, values < 2^bits. */
  inputs: readonly Uint32Array[];
  bits: number;
  threshold: number;
  /** SecAgg+ degree k (default: complete graph). */
  neighbours?: number;
  /** The server's minSurvivors: fewest masked inputs it unmasks (default: the threshold). */
  minSurvivors?: number;
  /** Clients (by index) that advertise keys, then drop before ShareKeys. */
  dropBeforeShareKeys?: readonly number[];
  /** Clients that share keys, then drop before sending their masked input. */
  dropBeforeMaskedInput?: readonly number[];
  /** Clients that send their masked input, then drop before Unmasking. */
  dropAfterMaskedInput?: readonly number[];
  roundId?: string;
  curve?: KeyAgreementCurve;
  /** 'json' (default): every message goes through encodeMessage/JSON/decodeMessage; 'structured-clone': through structuredClone. */
  wire?: 'json' | 'structured-clone';
}

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
  timings: { totalMs: number; unmaskMs: number };
}

export async function simulateRound(options: SimulateRoundOptions): Promise<SimulateRoundResult> {
  const start = performance.now();
  const { inputs, bits, threshold, neighbours, minSurvivors, roundId, curve, wire = 'json' } = options;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new PrivkitError('E_ARG', `inputs must be a non-empty array of Uint32Array, got ${describe(inputs)}`, { argument: 'inputs' });
  }
  if (wire !== 'json' && wire !== 'structured-clone') {
    throw new PrivkitError('E_ARG', `wire must be 'json' or 'structured-clone', got ${String(wire)}`, { argument: 'wire' });
  }
  const length = inputs[0] instanceof Uint32Array ? inputs[0].length : 0;
  const ids = inputs.map((_, i) => `client-${i}`);
  const drops = dropSchedule(options, inputs.length);

  let messagesToServer = 0;
  let bytesToServer = 0;
  const transfer = <T extends SecAggMessage>(message: T, toServer: boolean): T => {
    if (toServer) messagesToServer++;
    if (wire === 'structured-clone') return structuredClone(message);
    const text = JSON.stringify(encodeMessage(message));
    if (toServer) bytesToServer += text.length;
    return decodeMessage(text) as T;
  };

  const server = new SecAggServer({
    clients: ids,
    bits,
    length,
    threshold,
    ...(neighbours === undefined ? {} : { neighbours }),
    ...(minSurvivors === undefined ? {} : { minSurvivors }),
    ...(roundId === undefined ? {} : { roundId }),
    ...(curve === undefined ? {} : { curve }),
  });
  const clients = ids.map((id) => new SecAggClient(id));
  const setup = await server.setup();

  const advertised = await Promise.all(clients.map((client) => client.advertiseKeys(transfer(setup, false))));
  advertised.forEach((message) => server.receive(transfer(message, true)));
  const keys = server.closeAdvertiseKeys();

  const sharing = clients.filter((_, i) => !drops.beforeShareKeys.has(i));
  const shared = await Promise.all(sharing.map((client) => client.shareKeys(transfer(keys.get(client.id)!, false))));
  shared.forEach((message) => server.receive(transfer(message, true)));
  const shares = server.closeShareKeys();

  const masking = sharing.filter((client) => !drops.beforeMaskedInput.has(ids.indexOf(client.id)));
  const masked = await Promise.all(
    masking.map((client) => client.maskedInput(transfer(shares.get(client.id)!, false), inputs[ids.indexOf(client.id)]!)),
  );
  masked.forEach((message) => server.receive(transfer(message, true)));
  const requests = server.closeMaskedInput();

  const unmasking = masking.filter((client) => !drops.afterMaskedInput.has(ids.indexOf(client.id)));
  const revealed = await Promise.all(unmasking.map((client) => client.unmask(transfer(requests.get(client.id)!, false))));
  revealed.forEach((message) => server.receive(transfer(message, true)));
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
    const list = options[name] ?? [];
    if (!Array.isArray(list)) throw new PrivkitError('E_ARG', `${name} must be an array of client indices`, { argument: name });
    list.forEach((i, k) => {
      if (!Number.isSafeInteger(i) || i < 0 || i >= n || seen.has(i)) {
        throw new PrivkitError('E_ARG', `${name}[${k}] = ${String(i)} is not a distinct client index in [0, ${n})`, {
          argument: name,
          index: k,
        });
      }
      seen.add(i);
    });
    return new Set(list);
  };
  return {
    beforeShareKeys: read('dropBeforeShareKeys'),
    beforeMaskedInput: read('dropBeforeMaskedInput'),
    afterMaskedInput: read('dropAfterMaskedInput'),
  };
}
