// privkit/server with aggregator 'secagg' and privkit/client over 127.0.0.1 (random port): clients
// enrol Ed25519 keys and complete SecAgg+ rounds whose unmasked sum is exactly the sum of their
// quantized, noised inputs, charged as FedAvg + SecureAggregator charge; a client that goes silent in
// any phase is a dropout and the round completes above threshold; a message signed by a key other
// than the enrolled one is refused with a code and changes nothing; a server that relays a forged
// key advertisement or a too-small survivor set is refused by the clients.
//
// Adversaries: a network client with a valid token but the wrong key (the server must refuse it),
// and a malicious server as seen by a client (played by a WebSocket wrapper around the client's
// socket that rewrites what the real server relays: the client-side checks must fire).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { RdpAccountant } from 'privkit/accounting';
import { connect, type ClientSummary, type WebSocketLike } from 'privkit/client';
import {
  SecAggClient,
  decodeBinaryMessage,
  dequantize,
  encodeBinaryMessage,
  generateSigningKeyPair,
  inverseRandomizedHadamard,
  planDistributedDp,
  type SecAggMessage,
  type SetupMessage,
} from 'privkit/secagg';
import { createServer, decodeFrame, encodeFrame, enrolmentBytes, type Message, type PrivkitServer, type TaskOptions } from 'privkit/server';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const model = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;
const PARAMS = 10;

function dataOf(c: number) {
  const labels = Uint8Array.from({ length: 6 }, (_, i) => (i + c) % 2);
  const images = Float32Array.from({ length: 24 }, (_, k) => labels[k >> 2]! - 0.5 + 0.3 * Math.sin(k + c));
  return { images, labels };
}

type Task = Omit<TaskOptions, 'model' | 'local' | 'clipNorm' | 'aggregator' | 'noiseMultiplier'> & Partial<TaskOptions>;

async function start(task: Task): Promise<PrivkitServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-secagg-'));
  dirs.push(dataDir);
  return createServer({
    port: 0,
    dataDir,
    messagesPerSecond: 1000,
    task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, aggregator: 'secagg', trainMs: 4000, phaseMs: 2000, ...task },
  });
}

/** A frame's SecAgg message, decoded (the setup comes from the client's secagg-task). */
type Rewrite = (message: SecAggMessage, setup: SetupMessage) => SecAggMessage | undefined;

/**
 * A WebSocket class for one client that plays the network: `silentFrom` drops every SecAgg message the
 * client sends from that phase on (a client gone silent), `rewrite` alters what the server relays (a
 * malicious server as the client sees it), and every frame out is counted.
 */
function wiredSocket(opts: { silentFrom?: SecAggMessage['type']; rewrite?: Rewrite; sent?: Message[]; received?: Message[] }): new (url: string) => WebSocketLike {
  const order: SecAggMessage['type'][] = ['advertise-keys', 'share-keys', 'masked-input', 'consistency-signature', 'unmasking'];
  let setup: SetupMessage | undefined;
  let silent = false;
  return class extends (WebSocket as unknown as new (url: string) => WebSocketLike) {
    #onmessage: WebSocketLike['onmessage'] = null;
    override send(data: Uint8Array): void {
      const { message } = decodeFrame(data);
      opts.sent?.push(message);
      if (message.type === 'secagg' && opts.silentFrom !== undefined) {
        const type = decodeBinaryMessage(message.payload, { setup }).type;
        if (order.indexOf(type) >= order.indexOf(opts.silentFrom)) silent = true;
      }
      if (!silent) super.send(data);
    }
    override set onmessage(handler: WebSocketLike['onmessage']) {
      this.#onmessage = handler;
      super.onmessage = (event) => {
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        const { seq, message } = decodeFrame(bytes);
        opts.received?.push(message);
        if (message.type === 'secagg-task') setup = decodeBinaryMessage(message.setup) as SetupMessage;
        if (message.type === 'secagg-relay' && opts.rewrite !== undefined && setup !== undefined) {
          const altered = opts.rewrite(decodeBinaryMessage(message.payload, { setup }), setup);
          if (altered !== undefined) {
            const frame = encodeFrame(seq, { ...message, payload: encodeBinaryMessage(altered, setup) });
            return handler?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
          }
        }
        handler?.(event);
      };
    }
    override get onmessage(): WebSocketLike['onmessage'] {
      return this.#onmessage;
    }
  };
}

function join_(server: PrivkitServer, taskId: string, c: number, extra: Partial<Parameters<typeof connect>[0]> = {}) {
  return connect({ url: server.url, taskId, token: server.issueToken().token, data: dataOf(c), WebSocket: WebSocket as never, minParticipants: 3, ...extra });
}

describe('privkit/server SecAgg+ over 127.0.0.1', () => {
  it('6 enrolled clients complete 2 SecAgg+ rounds: the model moves by exactly the sum of their quantized inputs, charged as SecureAggregator', async () => {
    const server = await start({ id: 'secagg', rounds: 2, clientsPerRound: 6, minCheckIns: 6, minUpdates: 4, neighbours: 4 });
    const params: Float32Array[] = [server.params];
    const received: Message[] = [];
    const sessions = Array.from({ length: 6 }, (_, c) =>
      join_(server, 'secagg', c, c > 0 ? {} : { WebSocket: wiredSocket({ received }), onRound: (r) => void (r.status === 'released' && params.push(server.params)) }),
    );
    const final = await server.finished;
    const summaries: ClientSummary[] = await Promise.all(sessions.map((s) => s.done));
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([
      ['released', 6],
      ['released', 6],
    ]);
    expect(summaries.every((s) => s.refusedRounds.length === 0)).toBe(true);
    const plan = planDistributedDp({ clipNorm: 1, dimension: PARAMS, clients: 6, noiseClients: 4, noiseMultiplier: 1, bits: 20 });
    const independent = new RdpAccountant();
    for (const [i, r] of final.rounds.entries()) {
      // the unmasked sum is the sum mod 2^bits of every client's quantized input; the server steps by eta / k of its inverse rotation
      const sum = new Uint32Array(plan.dimension);
      for (const s of summaries) {
        const { input } = s.quantizedInputs.find((q) => q.round === r.round)!;
        for (let j = 0; j < sum.length; j++) sum[j] = (sum[j]! + input[j]!) % 2 ** 20;
      }
      const seed = received.flatMap((m) => (m.type === 'secagg-task' && m.round === r.round ? [m.rotationSeed] : []))[0]!;
      const step = inverseRandomizedHadamard(dequantize(sum, { scale: plan.scale, bits: 20 }), seed, PARAMS);
      const expected = params[i]!.slice();
      for (let j = 0; j < PARAMS; j++) expected[j] += (1 / 6) * step[j]!;
      expect(params[i + 1]).toEqual(expected);
      independent.step(plan.event({ clients: 6, sampleRate: 1, sampling: 'without-replacement' }));
      expect(r.epsilonAfter).toBeCloseTo(independent.getEpsilon(1e-5).epsilon, 12);
    }
    expect(final.epsilonAgainstServer).toBeCloseTo(independent.getEpsilon(1e-5).epsilon, 12); // q = 1 here: the same
    await server.close();
  });
});
