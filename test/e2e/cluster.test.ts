// privkit/server scaled out over Redis, over real sockets: a redis-server on a random local port,
// 3 aggregator child processes, a coordinator (in this process, so the noise can be seeded for the
// check) and Node clients spread over the aggregators. Each released model must equal what one
// process (CentralDpAggregator with the same seed) computes from the updates the clients sent, and the
// ledger must charge every released round as a one-process server would, but at the largest sampling
// rate of one aggregator's clients (how many of them were sampled is public). One aggregator is killed
// (SIGKILL) mid-round: the round completes without its clients or is withheld, and nothing is
// under-charged. Also: a coordinator restarted on its ledger mid-round aborts that round and carries
// on, and one started on another ledger (charging from zero) is refused; a second coordinator cannot take a living one's lease, and one whose lease was taken over stops
// without publishing. And an aggregator under attack has every protection of the one-process server
// (one shared connection layer): the cap on connections waiting to authenticate, the hello deadline,
// refused tokens and tasks, protocol violations and the rate limit.
import { WebSocket } from 'ws';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { RdpAccountant } from 'privkit/accounting';
import { createRng } from 'privkit/dp';
import { CentralDpAggregator } from 'privkit/fl';
import { connect } from 'privkit/client';
import { createAggregator, createCoordinator, decodeFrame, type ClusterCoordinator, type TaskOptions } from 'privkit/server';
import { Raw } from '../support/raw-client.js';
import { clusterFixture, watchRounds } from '../support/cluster.js';

const redis = clusterFixture();
const { dataDir, startAggregator } = redis;

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 7);

/** An update a client sent: its round, the aggregator it went to, the values. */
interface Sent {
  round: number;
  url: string;
  delta: Float32Array;
}

/**
 * Connects `perAggregator` clients to each aggregator; every update frame a client sends is recorded,
 * or handed to `intercept`, which may drop it (return true) instead of sending.
 */
function startClients(coordinator: ClusterCoordinator, taskId: string, urls: string[], perAggregator: number, sent: Sent[], intercept?: (update: Sent) => boolean) {
  class RecordingSocket extends WebSocket {
    readonly #url: string;
    constructor(url: string) {
      super(url);
      this.#url = url;
    }
    override send(data: Uint8Array): void {
      const { message } = decodeFrame(data);
      if (message.type === 'update') {
        const update = { round: message.round, url: this.#url, delta: message.delta };
        if (intercept?.(update) === true) return;
        sent.push(update);
      }
      super.send(data);
    }
  }
  return Promise.all(
    urls.flatMap((url, a) =>
      Array.from({ length: perAggregator }, async (_, i) => {
        const c = a * perAggregator + i;
        const labels = Uint8Array.from({ length: 6 }, (_, k) => (k + c) % 3);
        const images = Float32Array.from({ length: 6 * 8 }, (_, k) => Math.sin(0.7 * k + c));
        const { token } = await coordinator.issueToken();
        return connect({ url, taskId, token, data: { images, labels }, WebSocket: RecordingSocket as never, retryMs: 20, maxRetryMs: 100, attempts: 5 }).done.catch(() => undefined);
      }),
    ),
  );
}

/** Per aggregator: how many of its candidates a round sampled, of how many. */
type Split = { sampled: number; candidates: number }[];

/**
 * Reads each round's sample as Redis shows it (to any reader, and through the aggregators' check-ins to
 * anyone): how many of each aggregator's candidates were sampled. Call stop() when done.
 */
async function watchSplits(taskId: string): Promise<{ splits: Map<number, Split>; stop: () => void }> {
  const splits = new Map<number, Split>();
  const stop = await watchRounds(redis.url, taskId, (round, hash) => {
    const aggregators = Object.keys(hash).filter((field) => field.startsWith('s:')).map((field) => field.slice(2));
    splits.set(round, aggregators.map((a) => ({ sampled: hash[`s:${a}`]!.split(',').length, candidates: Number(hash[`n:${a}`]) })));
  });
  return { splits, stop };
}

/**
 * Replays the task as one process would: each released round's model is the previous one plus
 * eta / k x CentralDpAggregator(seeded).aggregate(the updates sent in that round); each round's
 * charge is the one-process server's event, but at the largest sampling rate of an aggregator's
 * clients (given its public sampled count: sampled / (candidates - 1), c = 1); epsilon replays the charges.
 */
async function expectOneProcessResult(coordinator: ClusterCoordinator, task: TaskOptions, sent: Sent[], initial: Float32Array, splits: Map<number, Split>): Promise<void> {
  const status = coordinator.status();
  const reference = new CentralDpAggregator({ dimension: initial.length, clipNorm: task.clipNorm, noiseMultiplier: task.noiseMultiplier, rng: createRng({ seed: SEED }) });
  const accountant = new RdpAccountant();
  let params = initial.slice();
  let charged = 0;
  for (const round of status.rounds) {
    // the sample is stratified: each aggregator's part is its share k n_a / n of it, rounded
    for (const { sampled, candidates } of splits.get(round.round)!) expect(Math.abs(sampled - (task.clientsPerRound * candidates) / round.checkedIn)).toBeLessThan(1);
    const updates = sent.filter((u) => u.round === round.round).map((u) => u.delta);
    if (round.status === 'released') {
      expect(round.included).toBe(updates.length);
      const event = {
        noiseMultiplier: task.noiseMultiplier,
        sampleRate: Math.max(...splits.get(round.round)!.map(({ sampled, candidates }) => Math.min(1, sampled / (candidates - 1)))), // c = 1, the default
        sampling: 'without-replacement' as const,
        neighbours: 'replace-one' as const,
        slack: reference.slack,
        tailMass: reference.tailMass,
      };
      expect(round.event).toEqual(event);
      accountant.step(event);
      charged += 1;
      expect(round.epsilonAfter).toBeCloseTo(accountant.getEpsilon(1e-5).epsilon, 12);
      const { sum } = await reference.aggregate(updates, round.round);
      const next = params.slice();
      for (let j = 0; j < next.length; j++) next[j] += ((task.serverLearningRate ?? 1) / task.clientsPerRound) * sum[j]!;
      params = next;
    } else {
      expect(round.status).toBe('withheld');
      expect(round.included).toBeLessThan(task.minUpdates!);
      expect(round.event).toBeUndefined();
    }
  }
  expect(charged).toBeGreaterThan(0);
  expect(status.epsilon).toBeCloseTo(accountant.getEpsilon(1e-5).epsilon, 12);
  const got = coordinator.params;
  // float64 sums of the same clipped updates in another grouping: equal to a few float32 ulps
  for (let j = 0; j < got.length; j++) expect(Math.abs(got[j]! - params[j]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(params[j]!)));
}

const baseTask = (id: string): TaskOptions => ({
  id,
  model: { type: 'softmax-regression', inputs: 8, classes: 3 },
  local: { epochs: 1, batchSize: 3, learningRate: 0.5 },
  rounds: 3,
  clientsPerRound: 6,
  minCheckIns: 8,
  minUpdates: 3,
  clipNorm: 0.05, // below the updates' norms: clipping is exercised
  noiseMultiplier: 1,
  trainMs: 8000,
});

describe('privkit/server over Redis: 3 aggregator processes', () => {
  it('runs rounds whose models and ledger equal one process on the same updates', async () => {
    const task = baseTask('cluster');
    const coordinator = await createCoordinator({ redis: redis.url, task, dataDir: dataDir(), rng: createRng({ seed: SEED }) });
    const initial = coordinator.params;
    const { splits, stop } = await watchSplits(task.id);
    const aggregators = await Promise.all(['a1', 'a2', 'a3'].map((id) => startAggregator(task.id, id)));
    const sent: Sent[] = [];
    const clients = startClients(
      coordinator,
      task.id,
      aggregators.map((a) => a.url),
      4,
      sent,
    );
    const final = await coordinator.finished;
    await clients;
    expect(final.finishedBy).toBe('rounds');
    expect(final.rounds.map((r) => r.status)).toEqual(['released', 'released', 'released']);
    expect(final.rounds.every((r) => r.sampled === 6 && r.included === 6 && r.checkedIn >= 8)).toBe(true);
    // the updates came through all three aggregators
    expect(new Set(sent.map((u) => u.url)).size).toBe(3);
    await expectOneProcessResult(coordinator, task, sent, initial, splits);
    stop();
    for (const { child } of aggregators) child.kill('SIGTERM');
    await coordinator.close();
  }, 60000);

  it('completes or withholds a round whose aggregator is killed mid-round, never under-charging', async () => {
    const task = baseTask('cluster-kill');
    const coordinator = await createCoordinator({ redis: redis.url, task, dataDir: dataDir(), rng: createRng({ seed: SEED }) });
    const initial = coordinator.params;
    const { splits, stop } = await watchSplits(task.id);
    const aggregators = await Promise.all(['k1', 'k2', 'k3'].map((id) => startAggregator(task.id, id)));
    const victim = aggregators[1]!;
    let killedInRound = 0;
    const sent: Sent[] = [];
    // the first update bound for the victim kills it instead: its round is in flight, its sample published
    const clients = startClients(
      coordinator,
      task.id,
      aggregators.map((a) => a.url),
      4,
      sent,
      (update) => {
        if (update.url !== victim.url) return false;
        if (killedInRound === 0) {
          killedInRound = update.round;
          victim.child.kill('SIGKILL');
        }
        return true;
      },
    );
    const final = await coordinator.finished;
    await clients;
    expect(killedInRound).toBeGreaterThan(0);
    const killed = final.rounds.find((r) => r.round === killedInRound)!;
    const sampledElsewhere = sent.filter((u) => u.round === killedInRound).length;
    expect(killed.included).toBe(sampledElsewhere); // the victim's sampled clients are dropouts
    expect(killed.status).toBe(sampledElsewhere >= task.minUpdates! ? 'released' : 'withheld');
    expect(final.rounds.filter((r) => r.status === 'released' || r.status === 'withheld')).toHaveLength(3);
    await expectOneProcessResult(coordinator, task, sent, initial, splits);
    stop();
    for (const { child } of aggregators) child.kill('SIGTERM');
    await coordinator.close();
  }, 60000);

  it('withholds a round whose only aggregator is killed before its partial: no write wakes the coordinator, its look at the heartbeats does, before the deadline', async () => {
    const task = { ...baseTask('cluster-kill-solo'), rounds: 1, clientsPerRound: 3, minCheckIns: 3 };
    const coordinator = await createCoordinator({ redis: redis.url, task, dataDir: dataDir() });
    const solo = await startAggregator(task.id, 'solo');
    let killedAt = 0;
    const clients = startClients(coordinator, task.id, [solo.url], 3, [], () => {
      if (killedAt === 0) {
        killedAt = Date.now();
        solo.child.kill('SIGKILL');
      }
      return true;
    });
    // the round ends once the heartbeat (aliveMs 3 s) lapses, well before trainMs (8 s) would end it
    let round: ReturnType<ClusterCoordinator['status']>['rounds'][number] | undefined;
    while (round === undefined || round.status === 'open') {
      await new Promise((resolve) => setTimeout(resolve, 50));
      round = coordinator.status().rounds.find((r) => r.round === 1);
      if (killedAt > 0 && Date.now() - killedAt > task.trainMs!) break;
    }
    expect(killedAt).toBeGreaterThan(0);
    expect(round).toMatchObject({ status: 'withheld', included: 0 });
    expect(Date.now() - killedAt).toBeLessThan(task.trainMs!);
    await coordinator.close();
    await clients;
  }, 60000);

  it('a coordinator restarted on its ledger aborts the round in flight and carries on with new round numbers', async () => {
    const task = { ...baseTask('cluster-restart'), rounds: 2 };
    const dir = dataDir();
    const first = await createCoordinator({ redis: redis.url, task, dataDir: dir, leaseMs: 1000 });
    const aggregators = await Promise.all(['r1', 'r2', 'r3'].map((id) => startAggregator(task.id, id)));
    let restarted: Promise<ClusterCoordinator> | undefined;
    // the coordinator stops as the first update of round 1 leaves its client: the round is in flight
    const clients = startClients(
      first,
      task.id,
      aggregators.map((a) => a.url),
      4,
      [],
      () => {
        restarted ??= first.close().then(() => createCoordinator({ redis: redis.url, task, dataDir: dir, leaseMs: 1000 }));
        return false;
      },
    );
    await expect.poll(() => restarted, { timeout: 20000 }).toBeDefined();
    const second = await restarted!;
    const final = await second.finished;
    await clients;
    expect(final.rounds.map((r) => [r.round, r.status])).toEqual([
      [1, 'aborted'],
      [2, 'released'],
      [3, 'released'],
    ]);
    expect(final.rounds[0]!.event).toBeUndefined(); // stopped before its charge: nothing was released of it
    const accountant = new RdpAccountant();
    for (const r of final.rounds.slice(1)) accountant.step(r.event!);
    expect(final.epsilon).toBeCloseTo(accountant.getEpsilon(1e-5).epsilon, 12);
    for (const { child } of aggregators) child.kill('SIGTERM');
    await second.close();
    // a coordinator on another (here: a fresh) ledger would charge the task from zero although its models are public: refused
    await expect(createCoordinator({ redis: redis.url, task, dataDir: dataDir(), leaseMs: 1000 })).rejects.toMatchObject({
      code: 'E_ARG',
      argument: 'options.dataDir',
      message: expect.stringContaining('Redis shows round 3'),
    });
    // the task's own ledger still starts (and finds the task finished)
    const third = await createCoordinator({ redis: redis.url, task, dataDir: dir, leaseMs: 1000 });
    expect((await third.finished).finishedBy).toBe('rounds');
    await third.close();
  }, 60000);

  it('fences coordinators: a second one cannot take a living lease, and one whose lease was taken stops', async () => {
    const task = baseTask('cluster-lease');
    const dir = dataDir();
    const first = await createCoordinator({ redis: redis.url, task, dataDir: dir, leaseMs: 400 });
    await expect(createCoordinator({ redis: redis.url, task, dataDir: dataDir(), leaseMs: 400 })).rejects.toMatchObject({ code: 'E_ARG' });
    // another process takes the lock (as after a lapsed lease): the first must stop acting
    const other = createClient({ url: redis.url });
    await other.connect();
    await other.set(`privkit:${task.id}:lock`, '999999');
    await expect(first.finished).rejects.toMatchObject({ code: 'E_PROTOCOL' });
    expect(await other.get(`privkit:${task.id}:lock`)).toBe('999999');
    other.destroy();
  }, 20000);

  it('an aggregator refuses a connection flood beyond maxUnauthenticated, closes late hellos with 4002, refused credentials with 4001 and violations with 4003; honest clients still complete the round', async () => {
    // two check-ins per round: the attacker's own check-in (lapsed when it is cut) can never make a round alone
    const task = { ...baseTask('cluster-attacked'), rounds: 1, clientsPerRound: 2, minCheckIns: 2, minUpdates: 2 };
    const coordinator = await createCoordinator({ redis: redis.url, task, dataDir: dataDir() });
    const aggregator = await createAggregator({ redis: redis.url, taskId: task.id, id: 'under-attack', port: 0, maxUnauthenticated: 3, helloMs: 1500, messagesPerSecond: 5, httpRequestsPerSecond: 5 });
    const url = aggregator.url;
    const health = async () => (await (await fetch(`http://127.0.0.1:${aggregator.port}/`)).json()) as { connections: number; checkedIn: number };
    // three connections that never say hello fill the bound: a fourth is cut before anything is read
    const flood = [new Raw(url), new Raw(url), new Raw(url)];
    await Promise.all(flood.map((r) => r.opened()));
    const cut = new Raw(url);
    expect(await cut.closed).toBe(1006);
    expect(cut.inbox).toEqual([]);
    // one authenticates (its token looked up in Redis): it no longer counts, so one more may wait, and the next is cut
    await flood[0]!.hello(task.id, (await coordinator.issueToken()).token);
    const waiting = new Raw(url);
    await waiting.opened();
    expect(await waiting.openAfter(150)).toBe(true);
    expect(await new Raw(url).closed).toBe(1006);
    // the waiting ones never say hello: closed at their deadline with the retry code, which frees the bound
    expect(await Promise.all([flood[1]!.closed, flood[2]!.closed, waiting.closed])).toEqual([4002, 4002, 4002]);
    // refused credentials end with 4001 (an E_AUTH error frame first); a violation before hello with 4003
    for (const attempt of [
      (r: Raw) => r.send({ type: 'hello', taskId: task.id, token: 'guessed' }),
      (r: Raw) => r.send({ type: 'hello', taskId: 'another-task', token: 'guessed' }),
      (r: Raw) => r.send({ type: 'check-in' }),
    ]) {
      const raw = new Raw(url);
      await raw.opened();
      attempt(raw);
      expect(await raw.next('error')).toMatchObject({ code: 'E_AUTH' });
      expect(await raw.closed).toBe(4001);
    }
    const garbage = new Raw(url);
    await garbage.opened();
    for (let i = 0; i < 20; i++) garbage.socket.send(Uint8Array.of(1, 2, 3));
    expect(await garbage.closed).toBe(4003);
    expect(garbage.inbox.filter((m) => m.type === 'error')).toHaveLength(1); // one refusal, then the close
    // an authenticated client: a replayed frame is refused, a flood past 5 per second is closed with 4003
    const attacker = flood[0]!;
    const checkIn = attacker.send({ type: 'check-in' });
    await attacker.next('checked-in');
    attacker.socket.send(checkIn);
    expect(await attacker.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('replayed') });
    for (let i = 0; i < 20; i++) attacker.send({ type: 'check-in' });
    expect(await attacker.closed).toBe(4003);
    expect(await health()).toEqual({ ok: true, aggregator: 'under-attack', connections: 0, checkedIn: 0 }); // its check-in lapsed with the socket
    // honest clients get in and complete the task's round through this aggregator
    const labels = Uint8Array.of(0, 1, 2, 0, 1, 2);
    const honest = await Promise.all(
      [1, 2].map(async (c) => {
        const images = Float32Array.from({ length: 48 }, (_, k) => Math.sin(k * c));
        return connect({ url, taskId: task.id, token: (await coordinator.issueToken()).token, data: { images, labels }, WebSocket: WebSocket as never });
      }),
    );
    const final = await coordinator.finished;
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 2]]);
    for (const session of honest) expect((await session.done).trainedRounds).toEqual([1]);
    // a flood of its HTTP endpoint: 5 requests a second per address, beyond them 429 with Retry-After
    const burst = await Promise.all(Array.from({ length: 12 }, () => fetch(`http://127.0.0.1:${aggregator.port}/`)));
    const refused = burst.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(6);
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    await Promise.all(burst.map((r) => r.arrayBuffer()));
    await aggregator.close();
    await coordinator.close();
  }, 30000);

  it('an aggregator whose token lookup fails closes the hello with 1011 (retry), not 4001 (which would end an honest client for good)', async () => {
    const task = baseTask('cluster-lookup');
    const coordinator = await createCoordinator({ redis: redis.url, task, dataDir: dataDir() });
    const aggregator = await createAggregator({ redis: redis.url, taskId: task.id, id: 'lookup', port: 0 });
    const { token } = await coordinator.issueToken();
    // the token hash becomes a string: HGET fails with WRONGTYPE, as any failing Redis command would
    const other = createClient({ url: redis.url });
    await other.connect();
    await other.set(`privkit:${task.id}:tokens`, 'not a hash');
    const raw = new Raw(aggregator.url);
    await raw.opened();
    raw.send({ type: 'hello', taskId: task.id, token });
    expect(await raw.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('could not be checked') });
    expect(await raw.closed).toBe(1011);
    other.destroy();
    await aggregator.close();
    await coordinator.close();
  }, 20000);
});
