// Child process of the cluster bench suite: the coordinator of a task scaled out over Redis, in a
// process of its own so that its CPU figure is the coordinator's alone (not the bench's bookkeeping).
// stdin: JSON { redis, task, dataDir } on the first line; prints "ready" once the task is published.
// Then each stdin line is answered: "tokens N" with "tokens <json array>" (N bearer tokens, issued one
// at a time: each is a ledger transaction), "cpu" with "cpu <json>" (cluster-usage.ts). Prints
// "finished <json status>" when the task has finished; SIGTERM closes it.
import { createInterface } from 'node:readline';
import { createCoordinator, type TaskOptions } from '../src/server/index.js';
import { processUsage } from './cluster-usage.js';

const lines = createInterface({ input: process.stdin });
const first = await new Promise<string>((resolve) => lines.once('line', resolve));
const { redis, task, dataDir } = JSON.parse(first) as { redis: string; task: TaskOptions; dataDir: string };
const coordinator = await createCoordinator({ redis, task, dataDir });
lines.on('line', (line) => {
  if (line === 'cpu') process.stdout.write(`cpu ${JSON.stringify(processUsage())}\n`);
  else if (line.startsWith('tokens ')) {
    void (async () => {
      const tokens: string[] = [];
      for (let i = 0; i < Number(line.slice(7)); i++) tokens.push((await coordinator.issueToken()).token);
      process.stdout.write(`tokens ${JSON.stringify(tokens)}\n`);
    })();
  }
});
void coordinator.finished.then((status) => process.stdout.write(`finished ${JSON.stringify(status)}\n`));
process.once('SIGTERM', () => {
  lines.close();
  void coordinator.close().then(() => process.exit(0));
});
process.stdout.write('ready\n');
