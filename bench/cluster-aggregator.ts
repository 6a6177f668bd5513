// Child process of the cluster bench suite: one aggregator of a task scaled out over Redis.
// argv: redis URL, task id, aggregator id. Prints "ready <port>"; then each stdin line "cpu" is
// answered with "cpu <json>" (processUsage below: this process's CPU time so far, its context switches
// and its event loop's idle time); SIGTERM closes it.
import { createInterface } from 'node:readline';
import { createAggregator } from '../src/server/index.js';
import { processUsage } from './cluster-usage.js';

const [redis, taskId, id] = process.argv.slice(2);
// a long heartbeat: on this oversubscribed machine a busy process can miss a short one, which would drop its clients
const aggregator = await createAggregator({ redis: redis!, taskId: taskId!, id: id!, port: 0, aliveMs: 15000 });
process.stdout.write(`ready ${aggregator.port}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'cpu') process.stdout.write(`cpu ${JSON.stringify(processUsage())}\n`);
});
process.once('SIGTERM', () => {
  lines.close();
  void aggregator.close().then(() => process.exit(0));
});
