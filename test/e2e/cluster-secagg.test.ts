// privkit/server's SecAgg+ task scaled out over Redis, over real sockets: a redis-server on a random
// local port, 3 aggregator child processes, a coordinator in this process and Node clients (privkit/
// client with Ed25519 enrolment, minParticipants and minNoiseMultiplier) spread over the aggregators.
// Each aggregator runs SecAgg+ among its sampled clients (its shard); the coordinator adds the shards'
// unmasked sums. Checked against what the clients sent (their quantized, noised inputs, onInput):
// every released model is the previous one plus eta / k x the inverse rotation of the dequantized sum
// of the shards' sums (each shard's sum is the sum of its clients' inputs), and every charge is the
// per-shard distributed discrete Gaussian of the smallest admitted shard (its survivors less the one
// colluding client; the dimension all shards' together), subsampled without replacement at the largest
// admitted shard's rate sampled / (its candidates - 1) (given each aggregator's sampled count, which is
// public, its clients were sampled at that rate, not at k / (checked-in - 1)), recomputed here from the
// inputs and the split of the sample a reader of Redis sees, and replayed in an RdpAccountant. A reader
// of Redis sees who was sampled, so the epsilon with sampling is not claimed against it. An aggregator killed
// (SIGKILL) mid-round makes its shard withheld: its clients are not in the sum, the round is charged
// once (for the shards left), and nothing else changes. One killed after the coordinator charged the
// round and admitted its shard (at its clients' unmasking responses) is left out of the sum, and the
// round keeps its one charge, computed with that shard. A client's minParticipants holds against its
// shard: clients asking for more participants than a shard holds leave every round withheld.
// A coordinator stopped after a round's charge and admission, and restarted on its ledger, aborts that
// round (its one charge kept) and the task carries on with the same aggregators and clients.
// A holder revealing a share its dealer never sent is banned through Redis into the coordinator's
// ledger (its shard, too small without it, left out). A key the operator binds at issue (issueToken's signingPublicKey) can not be re-bound by a thief
// holding the token, and an aggregator seats only a connection that presented the signed enrolment.
import { WebSocket } from 'ws';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { RdpAccountant } from 'privkit/accounting';
import { connect } from 'privkit/client';
import { dequantize, generateSigningKeyPair, inverseRandomizedHadamard, planDistributedDp, type RevealedShare, type SigningKeyPair, type UnmaskMessage } from 'privkit/secagg';
import { createCoordinator, decodeFrame, enrolmentBytes, type ClusterCoordinator, type TaskOptions, type TaskStatus } from 'privkit/server';
import { clusterFixture, watchRounds, type ChildAggregator } from '../support/cluster.js';
import { cheatingSocket } from '../support/cheating-socket.js';
import { Raw } from '../support/raw-client.js';
import { serverClientData } from './browser/server-client-data.js';

const redis = clusterFixture();

const task = (id: string): TaskOptions => ({
  id,
  model: { type: 'softmax-regression', inputs: 4, classes: 2 },
  local: { epochs: 1, batchSize: 2, learningRate: 0.2 },
  rounds: 2,
  clientsPerRound: 6, // 6 of 3 x 3 clients: at least two shards hold >= 2 (3 + 3, 3 + 2 + 1 or 2 + 2 + 2)
  minCheckIns: 6,
  minUpdates: 2, // per shard
  clipNorm: 1,
  noiseMultiplier: 1,
  aggregator: 'secagg',
  bits: 20,
  trainMs: 8000,
  phaseMs: 4000,
});

/** A client's quantized, noised input of a round, and the aggregator it went to. */
interface Input {
  round: number;
  url: string;
  /** The client's index (0-8). */
  client: number;
  input: Uint32Array;
}

/** A round's sample as Redis shows it (to the coordinator and any reader): per aggregator URL, the sampled client ids and the candidates' count. */
type Split = Map<string, { sampled: string[]; candidates: number }>;

/** A SecAgg+ frame a client is about to send: to which aggregator, of which round, its how-manieth of the round (5: unmasking). */
interface Sending {
  url: string;
  round: number;
  index: number;
}

/** What a run may do to the deployment. */
interface Play {
  /** Sees every SecAgg+ frame a client sends, before it is sent, and may drop it (true). */
  onSecAggSend?: (sending: Sending, aggregators: ChildAggregator[]) => boolean;
  /** The clients' minParticipants; default 2. */
  minParticipants?: number;
  /** The first frame for which it is true stops the coordinator; a new one starts on its ledger. */
  restartAt?: (sending: Sending) => boolean;
  /** Client `index` (of 0-8) connects with this WebSocket class and signing key instead (a malicious client: not watched). */
  malicious?: { index: number; WebSocket: unknown; signingKey: SigningKeyPair };
}

/**
 * Runs a task on 3 aggregators with 3 clients each, as `play` says. Records each round's rotation
 * seed from Redis. Returns the coordinator that finished the task.
 */
async function run(t: TaskOptions, play: Play = {}) {
  const dataDir = redis.dataDir();
  const first = await createCoordinator({ redis: redis.url, task: t, dataDir });
  let coordinator = first;
  let restarted: Promise<ClusterCoordinator> | undefined;
  const initial = coordinator.params;
  const seeds = new Map<number, Uint8Array>();
  const splits = new Map<number, Split>();
  const names = ['1', '2', '3'];
  // a reader of Redis: the round's rotation seed, and who was sampled where out of how many
  const stopWatching = await watchRounds(redis.url, t.id, (round, hash) => {
    seeds.set(round, new Uint8Array(Buffer.from(hash.rot!, 'hex')));
    const split: Split = new Map();
    for (const [i, a] of names.entries()) {
      const ids = hash[`s:${t.id}-${a}`];
      if (ids !== undefined) split.set(aggregators[i]!.url, { sampled: ids.split(','), candidates: Number(hash[`n:${t.id}-${a}`]) });
    }
    splits.set(round, split);
  });
  const aggregators = await Promise.all(names.map((a) => redis.startAggregator(t.id, `${t.id}-${a}`)));
  const inputs: Input[] = [];
  const clientIds: string[] = [];
  class WatchedSocket extends WebSocket {
    readonly #url: string;
    readonly #sentInRound = new Map<number, number>();
    constructor(url: string) {
      super(url);
      this.#url = url;
    }
    override send(data: Uint8Array): void {
      const { message } = decodeFrame(data);
      if (message.type === 'secagg') {
        const index = (this.#sentInRound.get(message.round) ?? 0) + 1;
        this.#sentInRound.set(message.round, index);
        const sending = { url: this.#url, round: message.round, index };
        if (restarted === undefined && play.restartAt?.(sending) === true) {
          restarted = first.close().then(() => createCoordinator({ redis: redis.url, task: t, dataDir }));
        }
        if (play.onSecAggSend?.(sending, aggregators) === true) return;
      }
      super.send(data);
    }
  }
  const clients = Promise.all(
    aggregators.flatMap(({ url }, a) =>
      [0, 1, 2].map(async (i) => {
        const c = 3 * a + i;
        const { images, labels } = serverClientData(c);
        const { clientId, token } = await coordinator.issueToken();
        clientIds[c] = clientId;
        const malicious = play.malicious?.index === c ? play.malicious : undefined;
        return connect({
          url,
          taskId: t.id,
          token,
          data: { images, labels },
          WebSocket: (malicious?.WebSocket ?? WatchedSocket) as never,
          ...(malicious === undefined ? {} : { signingKey: malicious.signingKey }),
          minParticipants: play.minParticipants ?? 2,
          minNoiseMultiplier: 0.5,
          onInput: (q) => void inputs.push({ round: q.round, url, client: c, input: q.input }),
          retryMs: 20,
          maxRetryMs: 100,
          attempts: 5,
        }).done.catch(() => undefined);
      }),
    ),
  );
  let final: TaskStatus | undefined;
  while (final === undefined) {
    final = await Promise.race([coordinator.finished, new Promise<undefined>((resolve) => setTimeout(resolve, 100))]);
    if (restarted !== undefined && coordinator === first) coordinator = await restarted;
  }
  await clients;
  for (const { child } of aggregators) child.kill('SIGTERM');
  stopWatching();
  return { coordinator, initial, final, inputs, seeds, splits, aggregators, clientIds };
}

/**
 * Replays the task from the clients' inputs: the shards of a round are its inputs grouped by
 * aggregator (the admitted ones); the released sum is the sum of their sums mod 2^bits but for the
 * shards `lost` (admitted, then their aggregator or the coordinator stopped); the charge is the plan's event for the smallest
 * admitted shard's survivors less 1 at k / (checked-in - 1), without replacement, its dimension the
 * admitted shards' together. A round whose admitted shards were all lost is aborted with its charge.
 */
function expectReplay(
  t: TaskOptions,
  coordinator: ClusterCoordinator,
  initial: Float32Array,
  inputs: Input[],
  seeds: Map<number, Uint8Array>,
  splits: Map<number, Split>,
  lost = (_round: number, _url: string) => false) {
  const status = coordinator.status();
  const plan = planDistributedDp({ clipNorm: t.clipNorm, dimension: initial.length, clients: t.clientsPerRound, noiseClients: t.minUpdates!, noiseMultiplier: t.noiseMultiplier, bits: t.bits! });
  const observer = new RdpAccountant();
  const server = new RdpAccountant();
  let params = initial.slice();
  let charges = 0;
  for (const round of status.rounds) {
    // the sample is stratified: each aggregator's part is its share k n_a / n of it, rounded
    const split = splits.get(round.round)!;
    for (const { sampled, candidates } of split.values()) expect(Math.abs(sampled.length - (t.clientsPerRound * candidates) / round.checkedIn)).toBeLessThan(1);
    const shards = new Map<string, Uint32Array[]>();
    for (const { round: r, url, input } of inputs) if (r === round.round) shards.set(url, [...(shards.get(url) ?? []), input]);
    if (round.status === 'withheld') {
      expect(round.event).toBeUndefined();
      expect(shards.size).toBe(0); // a withheld round unmasked nothing: no shard reached its masked inputs
      continue;
    }
    const released = [...shards].filter(([url]) => !lost(round.round, url)).map(([, members]) => members);
    const shardSums = released.map((members) => {
      const sum = new Uint32Array(plan.dimension);
      for (const input of members) for (let j = 0; j < sum.length; j++) sum[j] = (sum[j]! + input[j]!) % 2 ** plan.bits;
      return sum;
    });
    const total = new Uint32Array(plan.dimension);
    for (const shardSum of shardSums) for (let j = 0; j < total.length; j++) total[j] = (total[j]! + shardSum[j]!) % 2 ** plan.bits;
    const fewest = Math.min(...[...shards.values()].map((m) => m.length));
    // given how many of each aggregator's clients were sampled (public), its clients were sampled at sampled / candidates:
    // the charge's rate is the largest admitted shard's (less the one colluding client among its candidates)
    const sampleRate = Math.max(...[...shards.keys()].map((url) => Math.min(1, split.get(url)!.sampled.length / (split.get(url)!.candidates - 1))));
    // the shard sums as blocks of one vector: the dimension is the shards' rotated lengths together
    const event = {
      ...plan.event({ clients: Math.max(1, fewest - 1), sampleRate, sampling: 'without-replacement' }),
      dimension: plan.dimension * shards.size,
    };
    expect(round.event).toEqual(event);
    observer.step(event);
    server.step({ ...event, sampleRate: 1 });
    charges += 1;
    expect(round.epsilonAfter).toBeCloseTo(observer.getEpsilon(1e-5).epsilon, 12);
    if (released.length === 0) {
      expect(round.status).toBe('aborted'); // charged, nothing released
      continue;
    }
    expect(round.status).toBe('released');
    expect(round.included).toBe(released.reduce((n, m) => n + m.length, 0));
    const sum = inverseRandomizedHadamard(dequantize(total, { scale: plan.scale, bits: plan.bits }), seeds.get(round.round)!, initial.length);
    const next = params.slice();
    for (let j = 0; j < next.length; j++) next[j] += (1 / t.clientsPerRound) * sum[j]!;
    params = next;
  }
  expect(charges).toBeGreaterThan(0);
  expect(status.epsilon).toBeCloseTo(observer.getEpsilon(1e-5).epsilon, 12);
  expect(status.epsilonAgainstServer).toBeCloseTo(server.getEpsilon(1e-5).epsilon, 12);
  const got = coordinator.params;
  for (let j = 0; j < got.length; j++) expect(Math.abs(got[j]! - params[j]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(params[j]!)));
}

describe('privkit/server SecAgg+ over Redis: one shard per aggregator', () => {
  it('runs rounds whose released sum is the sum of the shards\' sums, charged for the smallest shard', async () => {
    const t = task('cluster-secagg');
    const { coordinator, initial, final, inputs, seeds, splits, clientIds } = await run(t);
    expect(final.finishedBy).toBe('rounds');
    expect(final.rounds.map((r) => r.status)).toEqual(['released', 'released']);
    // a reader of Redis knows who was sampled (every client whose input is in a shard's sum is in its aggregator's part of the
    // sample), so against it (and the coordinator, who drew the sample) a sampled client's round is unsampled: only
    // epsilonAgainstServer holds, and the observer the epsilon names excludes them
    for (const { round, url, client } of inputs) expect(splits.get(round)!.get(url)!.sampled).toContain(clientIds[client]);
    expect(final.observer).toContain('Not the coordinator nor readers of Redis');
    expect(final.observer).toMatch(/readers of Redis[^]*epsilonAgainstServer \(without sampling\)/);
    // every round summed shards of more than one aggregator
    for (const round of [1, 2]) expect(new Set(inputs.filter((i) => i.round === round).map((i) => i.url)).size).toBeGreaterThan(1);
    expectReplay(t, coordinator, initial, inputs, seeds, splits);
    await coordinator.close();
  }, 60000);

  it('an aggregator killed mid-round has its shard withheld; the round is charged once, for the shards left', async () => {
    const t = task('cluster-secagg-kill');
    let killed: string | undefined;
    const { coordinator, initial, final, inputs, seeds, splits } = await run(t, {
      onSecAggSend: ({ url }, aggregators) => {
        if (killed !== undefined) return false;
        killed = url;
        aggregators.find((a) => a.url === url)!.child.kill('SIGKILL'); // at its first SecAgg+ message: its shard is in flight
        return true;
      },
    });
    expect(killed).toBeDefined();
    expect(inputs.some((i) => i.url === killed)).toBe(false); // its shard never reached its masked inputs
    expect(final.finishedBy).toBe('rounds');
    expect(final.rounds.filter((r) => r.status === 'aborted')).toEqual([]);
    // each round charged at most once, and exactly the released ones
    const charged = coordinator.status().rounds.filter((r) => r.event !== undefined);
    expect(charged.every((r) => r.status === 'released')).toBe(true);
    expectReplay(t, coordinator, initial, inputs, seeds, splits);
    await coordinator.close();
  }, 60000);

  it('an aggregator killed after its shard was admitted (and charged) is left out of the sum; the round is charged once', async () => {
    const t = task('cluster-secagg-late');
    let lost: { round: number; url: string } | undefined;
    const { coordinator, initial, final, inputs, seeds, splits } = await run(t, {
      onSecAggSend: ({ url, round, index }, aggregators) => {
        if (index !== 5) return false; // the unmasking response: the coordinator has charged and admitted the shard
        if (lost === undefined) {
          lost = { round, url };
          aggregators.find((a) => a.url === url)!.child.kill('SIGKILL');
        }
        return lost.url === url;
      },
    });
    expect(lost).toBeDefined();
    expect(inputs.some((i) => i.round === lost!.round && i.url === lost!.url)).toBe(true); // its shard got its masked inputs
    expect(final.finishedBy).toBe('rounds');
    const charged = coordinator.status().rounds.filter((r) => r.event !== undefined);
    expect(charged.map((r) => r.round)).toContain(lost!.round);
    expectReplay(t, coordinator, initial, inputs, seeds, splits, (round, url) => round === lost!.round && url === lost!.url);
    await coordinator.close();
  }, 60000);

  it('an aggregator that reports its survivors, is charged and admitted, then writes a sum of fewer clients (less noise than charged) is left out of the sum', async () => {
    const t = task('cluster-secagg-fewer');
    const forger = createClient({ url: redis.url });
    forger.on('error', () => undefined);
    await forger.connect();
    const plan = planDistributedDp({ clipNorm: t.clipNorm, dimension: 10, clients: t.clientsPerRound, noiseClients: t.minUpdates!, noiseMultiplier: t.noiseMultiplier, bits: t.bits! });
    let deviating: { round: number; url: string } | undefined;
    const { coordinator, initial, final, inputs, seeds, splits } = await run(t, {
      onSecAggSend: ({ url, round, index }, aggregators) => {
        if (index !== 5) return false; // the unmasking response: its shard was charged and admitted with its survivors
        if (deviating === undefined) {
          deviating = { round, url };
          // the deviating aggregator (played here through Redis, as it writes there): its sum, claiming one client only
          const i = aggregators.findIndex((a) => a.url === url);
          aggregators[i]!.child.kill('SIGKILL');
          const sum = new Uint32Array(1 + plan.dimension);
          sum[0] = 1;
          void forger.hSet(`privkit:${t.id}:part:${round}`, `s:${t.id}-${i + 1}`, Buffer.from(sum.buffer));
        }
        return deviating.url === url;
      },
    });
    forger.destroy();
    expect(deviating).toBeDefined();
    expect(final.rounds.find((r) => r.round === deviating!.round)!.event).toBeDefined(); // charged with its survivors
    // left out of the sum (and of the count), as an aggregator that failed after its admission
    expectReplay(t, coordinator, initial, inputs, seeds, splits, (round, url) => round === deviating!.round && url === deviating!.url);
    await coordinator.close();
  }, 60000);

  it("checks a client's minParticipants against its shard: shards smaller than it never unmask", async () => {
    // 3 clients an aggregator: a client that wants 4 participants refuses every shard, although 6 are sampled a round
    const t = { ...task('cluster-secagg-small'), trainMs: 2500, phaseMs: 1500 }; // refused before advertising: each round waits out trainMs
    const { coordinator, final, inputs } = await run(t, { minParticipants: 4 });
    expect(final.rounds.map((r) => r.status)).toEqual(['withheld', 'withheld']);
    expect(inputs).toEqual([]);
    expect(final.epsilon).toBe(0);
    await coordinator.close();
  }, 60000);

  it('a coordinator stopped after it charged a round and admitted its shards is restarted on its ledger: that round aborted with its one charge, the task carries on', async () => {
    const t = task('cluster-secagg-restart');
    let stoppedIn: number | undefined;
    const { coordinator, initial, final, inputs, seeds, splits } = await run(t, {
      restartAt: ({ round, index }) => {
        if (index !== 5) return false; // the first unmasking response: charged and admitted
        stoppedIn = round;
        return true;
      },
    });
    expect(stoppedIn).toBe(1);
    expect(final.rounds.map((r) => [r.round, r.status, r.abortedBy])).toEqual([
      [1, 'aborted', 'restart'],
      [2, 'released', undefined],
      [3, 'released', undefined],
    ]);
    expectReplay(t, coordinator, initial, inputs, seeds, splits, (round) => round === 1); // round 1's charge is in the epsilon, once
    await coordinator.close();
  }, 60000);

  it('a cheating holder (a validly signed unmasking with a share its dealer never sent) is discarded and banned through Redis into the ledger (listed in the status with its reason); its shard is left out, the others released', async () => {
    // every checked-in client sampled: three shards of 3 (t = 2 of each). In the cheater's shard one honest client's unmasking
    // response is dropped, so the cheater's shares are among the t used (its lie is always traced), and without it too few remain
    const t = { ...task('cluster-secagg-holder'), rounds: 1, clientsPerRound: 9, minCheckIns: 9, phaseMs: 1500 };
    const signingKey = await generateSigningKeyPair();
    const flip = (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === b.length - 1 ? x ^ 1 : x));
    const Cheating = cheatingSocket<UnmaskMessage>(signingKey, 'unmasking', (m) => {
      const alter = (r: RevealedShare) => (r.owner === m.sender ? r : { ...r, share: flip(r.share) });
      return { ...m, selfMaskShares: m.selfMaskShares.map(alter), keyShares: m.keyShares.map(alter) };
    });
    let dropped = false;
    let cheaters: string | undefined;
    const { coordinator, initial, final, inputs, seeds, splits, clientIds } = await run(t, {
      malicious: { index: 0, WebSocket: Cheating, signingKey },
      onSecAggSend: ({ url, index }, aggregators) => {
        cheaters = aggregators[0]!.url; // client 0's aggregator
        if (dropped || index !== 5 || url !== cheaters) return false;
        dropped = true;
        return true;
      },
    });
    expect(dropped).toBe(true);
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 6]]);
    expect(final.banned).toEqual({ count: 1, clients: [{ clientId: clientIds[0], round: 1, reason: expect.stringContaining('revealed a share its dealer never sent') }] });
    expectReplay(t, coordinator, initial, inputs, seeds, splits, (_round, url) => url === cheaters);
    await coordinator.close();
  }, 60000);

  it("binds a key at issue (issueToken({ signingPublicKey })): a thief with the token can not enrol its own key (E_AUTH) nor, after the client enrolled, replay the client's enrolment on its own connection (E_AUTH: it signs the client's connection challenge) or check in without one", async () => {
    const t = task('cluster-secagg-bound');
    const coordinator = await createCoordinator({ redis: redis.url, task: t, dataDir: redis.dataDir() });
    const aggregator = await redis.startAggregator(t.id, `${t.id}-1`);
    const enrol = async (socket: Raw, key: SigningKeyPair, clientId: string) => {
      const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', key.privateKey, enrolmentBytes(t.id, clientId, key.publicKey, socket.welcome!.challenge) as Uint8Array<ArrayBuffer>));
      const enrolment = { type: 'enrol', signingPublicKey: key.publicKey, signature } as const;
      socket.send(enrolment);
      return enrolment;
    };
    const key = await generateSigningKeyPair();
    const victim = await coordinator.issueToken({ signingPublicKey: key.publicKey });
    // the thief read the token off the network before the client ever connected
    const thief = new Raw(aggregator.url);
    await thief.hello(t.id, victim.token);
    await enrol(thief, await generateSigningKeyPair(), victim.clientId);
    expect(await thief.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('enrolled by another client, or this client enrolled another') });
    thief.socket.close();
    // the client enrols its own key and takes its seat
    const watcher = createClient({ url: redis.url });
    watcher.on('error', () => undefined);
    await watcher.connect();
    const client = new Raw(aggregator.url);
    await client.hello(t.id, victim.token);
    const enrolment = await enrol(client, key, victim.clientId);
    await client.next('enrolled');
    client.send({ type: 'check-in' });
    let checkedInAt: string | null = null;
    for (let i = 0; i < 100 && checkedInAt == null; i++) {
      checkedInAt = await watcher.hGet(`privkit:${t.id}:checkins`, victim.clientId);
      if (checkedInAt == null) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(checkedInAt).toBe(`${t.id}-1`);
    client.socket.close();
    watcher.destroy();
    // the client's enrolment does not seat another connection with its token: that one must present its own,
    // and the client's, read off its connection, does not verify on another
    const later = new Raw(aggregator.url);
    await later.hello(t.id, victim.token);
    later.send(enrolment);
    expect(await later.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('does not verify') });
    later.send({ type: 'check-in' });
    expect(await later.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('its signed enrolment, on this connection') });
    later.socket.close();
    // bad keys: E_ARG, nothing stored
    const fresh = await generateSigningKeyPair();
    await expect(coordinator.issueToken({ signingPublicKey: key.publicKey })).rejects.toMatchObject({ code: 'E_ARG', message: expect.stringContaining('already bound') });
    await expect(coordinator.issueToken({ signingPublicKey: fresh.publicKey.subarray(1) })).rejects.toMatchObject({ code: 'E_ARG', message: expect.stringContaining('32-byte Uint8Array') });
    await expect(coordinator.issueToken({ signingPublicKeys: [fresh.publicKey] } as never)).rejects.toMatchObject({ code: 'E_ARG', argument: 'options.signingPublicKeys' });
    expect((await coordinator.issueToken({ signingPublicKey: fresh.publicKey })).clientId).toMatch(/^c-/);
    aggregator.child.kill('SIGTERM');
    await coordinator.close();
    const central = await createCoordinator({ redis: redis.url, task: { ...task('cluster-central-bound'), aggregator: 'central-dp' }, dataDir: redis.dataDir() });
    await expect(central.issueToken({ signingPublicKey: fresh.publicKey })).rejects.toMatchObject({ code: 'E_ARG', message: expect.stringContaining('does not use secure aggregation') });
    await central.close();
  });

  it('refuses a secure-aggregation task without its per-shard minUpdates (a one-process default of clientsPerRound would withhold every shard)', async () => {
    const { minUpdates: _, ...given } = task('cluster-secagg-default');
    await expect(createCoordinator({ redis: redis.url, task: given, dataDir: redis.dataDir() })).rejects.toMatchObject({ code: 'E_ARG', argument: 'options.task.minUpdates' });
  });
});
