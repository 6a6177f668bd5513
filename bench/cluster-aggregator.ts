// Child process of the cluster bench suite: one aggregator of a task scaled out over Redis.
// argv: redis URL, task id, aggregator id. Prints "ready <port>"; then each stdin line "cpu" is
// answered with "cpu <ms>" (this process's CPU time so far); SIGTERM closes it.
import { createInterface } from 'node:readline';
import { createAggregator } from '../src/server/index.js';

const [redis, taskId, id] = process.argv.slice(2);
// a long heartbeat: on this oversubscribed machine a busy process can miss a short one, which would drop its clients
const aggregator = await createAggregator({ redis: redis!, taskId: taskId!, id: id!, port: 0, aliveMs: 15000 });
process.stdout.write(`ready ${aggregator.port}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  process.stdout.write(`cpu ${(user + system) / 1000}\n`);
});
process.once('SIGTERM', () => {
  lines.close();
  void aggregator.close().then(() => process.exit(0));
});
