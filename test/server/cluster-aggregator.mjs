// Child process of cluster.test.ts: one privkit/server aggregator of a task scaled out over Redis.
// Prints "ready <port>" once it serves clients.
import { createAggregator } from 'privkit/server';

const [redis, taskId, id] = process.argv.slice(2);
// a heartbeat of 3 s: a loaded test machine must not stall a living aggregator past it
const aggregator = await createAggregator({ redis, taskId, id, port: 0, aliveMs: 3000 });
process.stdout.write(`ready ${aggregator.port}\n`);
process.once('SIGTERM', () => void aggregator.close().then(() => process.exit(0)));
