// The main job (`npm start` = dist/examples/fl-mnist.js): a short run prints the full report, and
// bad flags fail with a message instead of a stack trace.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../dist/examples/fl-mnist.js', import.meta.url));

describe('npm start (federated MNIST)', () => {
  it('trains with secure aggregation and prints the report', async () => {
    const { stdout } = await run(process.execPath, [script, '--rounds', '3', '--clients', '200', '--per-round', '40', '--threads', '2']);
    for (const label of ['model', 'clients', 'rounds', 'privacy', 'vs the server', 'aggregation', 'dropouts survived', 'wrap-around', 'secure round', 'test accuracy', 'wall time']) {
      expect(stdout).toMatch(new RegExp(`^${label} +\\S`, 'm'));
    }
    const epsilon = Number(/privacy +epsilon ([\d.]+)/.exec(stdout)?.[1]);
    expect(epsilon).toBeGreaterThan(0);
    expect(epsilon).toBeLessThanOrEqual(3);
    const serverEpsilon = Number(/vs the server +epsilon ([\d.]+)/.exec(stdout)?.[1]);
    expect(serverEpsilon).toBeGreaterThan(epsilon);
    const [privateAccuracy, publicAccuracy] = [...stdout.matchAll(/([\d.]+)% (?:private|non-private)/g)].map((m) => Number(m[1]));
    expect(privateAccuracy).toBeGreaterThan(20);
    expect(publicAccuracy).toBeGreaterThan(60);
  }, 120_000);

  it('runs central DP with --no-secagg', async () => {
    const { stdout } = await run(process.execPath, [script, '--rounds', '2', '--clients', '100', '--per-round', '20', '--no-secagg', '--epsilon', '1']);
    expect(stdout).toMatch(/^aggregation +central DP/m);
    expect(stdout).not.toMatch(/dropouts survived/);
  }, 60_000);

  it('prints the help and rejects bad flags', async () => {
    const { stdout } = await run(process.execPath, [script, '--help']);
    expect(stdout).toMatch(/--epsilon E/);
    expect(stdout).toMatch(/--no-secagg/);
    await expect(run(process.execPath, [script, '--dropout', '1'])).rejects.toMatchObject({ stderr: expect.stringMatching(/--dropout must be a number in \[0, 1\)/) });
    await expect(run(process.execPath, [script, '--per-round', '50', '--clients', '10'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--per-round \(50\) must not exceed --clients \(10\)/),
    });
  });
});
