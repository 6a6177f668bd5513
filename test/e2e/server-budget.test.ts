// Attacks on privkit/server's budget (targetEpsilon) with secure aggregation, over 127.0.0.1.
//
// Adversary: none needed (the default configuration), or malicious clients that make a round's
// survivor set as small as the server allows. The budget check before a round must use the costliest
// charge the round can end with: a SecAgg+ round is charged for its survivors less the colludingClients
// (whose noise an observer knows), so the fewest noisy clients are max(1, minSurvivors - c), not minUpdates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { RdpAccountant } from 'privkit/accounting';
import { connect } from 'privkit/client';
import { planDistributedDp } from 'privkit/secagg';
import { createServer } from 'privkit/server';
import { serverClientData } from './browser/server-client-data.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const model = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;
const PARAMS = 10;

describe('privkit/server targetEpsilon with secure aggregation', () => {
  async function run(targetEpsilon: number, k: number) {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-budget-'));
    dirs.push(dataDir);
    const server = await createServer({
      port: 0,
      dataDir,
      messagesPerSecond: 1000,
      task: {
        id: 'budget',
        model,
        local: { epochs: 1, batchSize: 2, learningRate: 0.2 },
        rounds: 2,
        clientsPerRound: k,
        clipNorm: 1,
        noiseMultiplier: 1,
        aggregator: 'secagg',
        targetEpsilon,
        trainMs: 4000,
        phaseMs: 2000,
      },
    });
    const sessions = Array.from({ length: k }, (_, c) =>
      connect({ url: server.url, taskId: 'budget', token: server.issueToken().token, data: serverClientData(c), WebSocket: WebSocket as never, minParticipants: 2, minNoiseMultiplier: 0.5 }),
    );
    const final = await server.finished;
    await Promise.all(sessions.map((s) => s.done.catch(() => undefined)));
    await server.close();
    return final;
  }

  // an independent price of one round of k = 3 (q = 1: all checked-in clients are sampled) for n noisy clients
  const k = 3;
  const plan = planDistributedDp({ clipNorm: 1, dimension: PARAMS, clients: k, noiseClients: k, noiseMultiplier: 1, bits: 20 });
  const price = (clients: number) => new RdpAccountant().step(plan.event({ clients, sampleRate: 1, sampling: 'without-replacement' })).getEpsilon(1e-5).epsilon;

  it('never charges past targetEpsilon: the check before a round prices the fewest noisy survivors (survivors - colludingClients)', async () => {
    const ofAll = price(k);
    const ofAllButOne = price(k - 1); // what the round is charged: k survivors less c = 1 colluding client
    expect(ofAllButOne).toBeGreaterThan(ofAll);
    const targetEpsilon = Math.sqrt(ofAll * ofAllButOne); // admits the round priced at k survivors, not as charged
    const final = await run(targetEpsilon, k);
    expect(final.finishedBy).toBe('budget');
    // the ledger never holds more than the budget: no round fits it, so nothing is charged
    expect(final.epsilon).toBeLessThanOrEqual(targetEpsilon);
    expect(final.rounds).toEqual([]);
  }, 30000);

  it('a budget that covers one round as charged runs exactly that round (the check is not looser nor tighter than the charge)', async () => {
    const targetEpsilon = price(k - 1) * (1 + 1e-9);
    const final = await run(targetEpsilon, k);
    expect(final.finishedBy).toBe('budget');
    expect(final.rounds.map((r) => [r.status, (r.event as { clients?: number } | undefined)?.clients])).toEqual([['released', k - 1]]);
    expect(final.epsilon).toBeLessThanOrEqual(targetEpsilon);
  }, 30000);
});
