// The privacy ledger of a SecAgg+ task survives kill -9 in every phase of the protocol: a child
// process runs a real privkit/server (aggregator 'secagg', distributed discrete Gaussian) and another
// one runs 6 privkit/client sessions over real sockets, which outlive the server's crashes and
// reconnect. The test kills the server KILLS times, each time in a chosen phase of a round opened
// after the last restart (advertise keys, share keys, masked input, consistency check, unmasking; in
// turn), a random 0-20 ms (0-5 ms for unmasking) after the first client received that phase's opening message; then it
// restarts the server on the same port and SQLite file. After each kill it checks the database:
// nothing committed before is lost or changed (rounds in flight become 'aborted' at the restart,
// keeping their charge), round numbers are never reused or skipped, a round is charged at most once
// (the stored running epsilons replay exactly from the stored events), a round whose unmask request
// reached a client is charged (never under-charged), a withheld or open round is not charged, and
// exactly the released rounds have a model version, in order. Every round must start from the
// model of the last released round before it (its version and a hash of its parameters as the
// clients received them), and after the last kill the task runs to the end: all ROUNDS rounds done.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RdpAccountant, type PrivacyEvent } from 'privkit/accounting';
import { createRng } from 'privkit/dp';
import { ready } from 'privkit';
import { ledgerRows, withLedger, type LedgerRow } from '../support/ledger-rows.js';

const KILLS = 20;
const ROUNDS = KILLS + 10; // a kill cycle releases at most about one round (rounds take ~70 ms, kills land within 20 ms of a phase)
const PHASES = ['advertise-keys', 'share-keys', 'masked-input', 'consistency-check', 'unmasking'] as const;
type Phase = (typeof PHASES)[number];

const dir = mkdtempSync(join(tmpdir(), 'privkit-secagg-ledger-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function readLedger(): { rows: LedgerRow[]; modelHashes: Map<number, string> } {
  return withLedger(dir, true, (db) => {
    const models = db.prepare('SELECT version, params FROM models ORDER BY version').all() as { version: number; params: Uint8Array }[];
    return { rows: ledgerRows(db), modelHashes: new Map(models.map((m) => [m.version, createHash('sha256').update(m.params).digest('hex')])) };
  });
}

/** Lines of a child's stdout, and a way to wait for one that matches. */
class Lines {
  readonly seen: string[] = [];
  #waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  constructor(child: ChildProcess) {
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        this.seen.push(line);
        this.#waiters = this.#waiters.filter((w) => !(w.match(line) && (w.resolve(line), true)));
      }
    });
  }
  /** The first line (seen or to come) that matches; fails after 30 s. */
  wait(match: (line: string) => boolean, what: string): Promise<string> {
    const found = this.seen.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} in 30 s`)), 30_000);
      this.#waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }
}

function spawnChild(script: string, args: string[]): { child: ChildProcess; lines: Lines } {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PRIVKIT_CRASH_ROUNDS: String(ROUNDS) },
  });
  children.push(child);
  return { child, lines: new Lines(child) };
}

async function startServer(port: number, issue: number): Promise<{ child: ChildProcess; lines: Lines; port: number; tokens: string[] }> {
  const { child, lines } = spawnChild('secagg-crash-server.mjs', [dir, String(port), String(issue)]);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the server exited early with ${code}`))));
  const line = await Promise.race([lines.wait((l) => l.startsWith('ready '), 'ready line'), exited]);
  const [, bound, tokens] = /^ready (\d+) (.*)$/.exec(line)!;
  return { child, lines, port: Number(bound), tokens: JSON.parse(tokens!) as string[] };
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** What the clients saw: for each round, the phases opened and the model it started from. */
function clientView(lines: Lines): { phases: Map<number, Set<Phase>>; tasks: Map<number, { version: number; hash: string }> } {
  const phases = new Map<number, Set<Phase>>();
  const tasks = new Map<number, { version: number; hash: string }>();
  for (const line of lines.seen) {
    const [kind, round, a, b] = line.split(' ');
    if (kind === 'phase') phases.set(Number(round), (phases.get(Number(round)) ?? new Set()).add(a as Phase));
    if (kind === 'task') tasks.set(Number(round), { version: Number(a), hash: b! });
  }
  return { phases, tasks };
}

/** The invariants of the ledger that hold after any crash (see the file header). */
function checkLedger(rows: LedgerRow[], modelHashes: Map<number, string>, clients: Lines): void {
  const accountant = new RdpAccountant();
  let lastVersion = 0;
  const { phases, tasks } = clientView(clients);
  rows.forEach((r, i) => {
    expect(r.round).toBe(i + 1); // round numbers are never reused or skipped
    if (r.status === 'released' || r.status === 'charged') expect(r.event, `round ${r.round} ${r.status} uncharged`).not.toBeNull();
    if (r.status === 'open' || r.status === 'withheld') expect(r.event, `round ${r.round} ${r.status} charged`).toBeNull();
    // never under-charged: an unmask request went out only after the round's charge had committed
    if (phases.get(r.round)?.has('unmasking')) expect(r.event, `round ${r.round} reached unmasking uncharged`).not.toBeNull();
    expect(r.versions).toBe(r.status === 'released' ? 1 : 0);
    // the round started from the model of the last round released before it, as stored
    const started = tasks.get(r.round);
    if (started !== undefined) {
      expect(started.version, `round ${r.round} started from version ${started.version}, not the latest ${lastVersion}`).toBe(lastVersion);
      expect(started.hash).toBe(modelHashes.get(lastVersion));
    }
    if (r.status === 'released') {
      expect(r.version).toBe(++lastVersion);
      expect(r.included).toBeGreaterThanOrEqual(4);
    }
    if (r.event !== null) {
      const event = JSON.parse(r.event) as PrivacyEvent;
      // q = k / (n - c) with the default colludingClients c = 1; the noise of the survivors less c
      expect(event).toMatchObject({ mechanism: 'distributed-discrete-gaussian', sampleRate: Math.min(1, r.sampled / (r.checked_in - 1)), sampling: 'without-replacement' });
      if (r.status === 'released') expect(event).toMatchObject({ clients: r.included - 1 });
      // the stored running epsilon is the replay of the stored events: one charge per round, none lost
      expect(r.epsilon_after).toBeCloseTo(accountant.step(event).getEpsilon(1e-5).epsilon, 12);
    }
  });
}

describe('SecAgg+ privacy ledger under kill -9', () => {
  it(`loses no committed round, never under- or double-charges and completes the task over ${KILLS} kills in every protocol phase`, async () => {
    await ready();
    const rng = createRng({ seed: new Uint8Array(32).fill(16) });
    let server = await startServer(0, 6);
    const port = server.port;
    const clients = spawnChild('secagg-crash-clients.mjs', [`ws://127.0.0.1:${port}`, JSON.stringify(server.tokens)]);
    let before: LedgerRow[] = [];
    const landed = new Map<string, number>();
    for (let kill = 0; kill < KILLS; kill++) {
      if (kill > 0) server = await startServer(port, 0);
      // the kill lands a random 0-20 ms after a client saw the chosen phase open, in a round opened since the restart
      const phase = PHASES[kill % PHASES.length]!;
      const known = before.length;
      const seen = await clients.lines.wait((l) => {
        const [kind, round, name] = l.split(' ');
        return kind === 'phase' && Number(round) > known && name === phase;
      }, `${phase} phase after round ${known}`);
      const target = Number(seen.split(' ')[1]);
      // the unmasking phase lasts ~10 ms from its opening to the release: a shorter delay there lands most of its kills
      // between the charge and the release, so the charged-but-unreleased case is hit (asserted at the end)
      await new Promise((r) => setTimeout(r, rng.uniform(1)[0]! * (phase === 'unmasking' ? 5 : 20)));
      await kill9(server.child);
      const { rows, modelHashes } = readLedger();

      // nothing committed before the crash is lost or changed, except in-flight rounds becoming aborted at the restart
      for (const old of before) {
        const now = rows.find((r) => r.round === old.round);
        expect(now, `round ${old.round} lost`).toBeDefined();
        expect(now!.event).toBe(old.event);
        expect(now!.epsilon_after).toBe(old.epsilon_after);
        expect(now!.version).toBe(old.version);
        expect(now!.status).toBe(old.status === 'open' || old.status === 'charged' ? 'aborted' : old.status);
      }
      const inFlight = rows.filter((r) => r.status === 'open' || r.status === 'charged');
      expect(inFlight.length).toBeLessThanOrEqual(1);
      const where = `${phase}: ${rows[target - 1]!.status}`; // where the kill found the round whose phase it waited for
      landed.set(where, (landed.get(where) ?? 0) + 1);
      checkLedger(rows, modelHashes, clients.lines);
      before = rows;
    }

    // the last restart resumes from the last released round and runs the task to its end
    server = await startServer(port, 0);
    await server.lines.wait((l) => l === 'finished', 'finished task');
    await clients.lines.wait((l) => l === 'done', 'end of the client sessions');
    const { rows, modelHashes } = readLedger();
    checkLedger(rows, modelHashes, clients.lines);
    for (const old of before) expect(rows[old.round - 1]!.status).toBe(old.status === 'open' || old.status === 'charged' ? 'aborted' : old.status);
    const count = (status: string) => rows.filter((r) => r.status === status).length;
    expect(count('released') + count('withheld')).toBe(ROUNDS);
    expect(count('open') + count('charged')).toBe(0);
    const abortedCharged = rows.filter((r) => r.status === 'aborted' && r.event !== null).length;
    console.log(
      `SecAgg+ ledger under kill -9: ${KILLS} kills, landed (phase seen: that round's state at the kill) ${JSON.stringify(Object.fromEntries(landed))}; ` +
        `${rows.length} rounds: ${count('released')} released, ${count('withheld')} withheld, ${count('aborted')} aborted (${abortedCharged} of them charged)`,
    );
    // kills hit rounds in flight both before and after their charge
    expect(rows.some((r) => r.status === 'aborted' && r.event === null)).toBe(true);
    expect(abortedCharged).toBeGreaterThan(0);
  }, 90_000);
});
