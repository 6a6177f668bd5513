#!/usr/bin/env node
// The privkit-server command: runs one task's federated-averaging service until the task finishes or
// the process is stopped (SIGINT/SIGTERM close it cleanly; a kill -9 is recovered from the ledger).
//   npx privkit-server --task task.json [--port 8080] [--host 127.0.0.1] [--db ./data] [--issue N] [--tokens FILE]
//                      [--tls-key key.pem --tls-cert cert.pem] [--allow-insecure-transport]
// task.json holds the TaskOptions of privkit/server; --issue N enrols N new clients and prints one
// JSON line { clientId, token } for each (hand each token to one client), or writes them to FILE
// (owner-readable only) with --tokens. --tls-key and --tls-cert serve wss:// (the tls option); without
// them only loopback clients are admitted unless --allow-insecure-transport (a network you trust).
import { closeSync, fchmodSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createServer } from './server.js';

const { values } = parseArgs({
  options: {
    task: { type: 'string' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    db: { type: 'string', default: './data' },
    issue: { type: 'string', default: '0' },
    tokens: { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-cert': { type: 'string' },
    'allow-insecure-transport': { type: 'boolean', default: false },
  },
});
if (values.task === undefined) {
  process.stderr.write(
    'usage: privkit-server --task task.json [--port 8080] [--host 127.0.0.1] [--db ./data] [--issue N] [--tokens FILE] [--tls-key key.pem --tls-cert cert.pem] [--allow-insecure-transport]\n',
  );
  process.exit(2);
}
const tlsKey = values['tls-key'];
const tlsCert = values['tls-cert'];
if ((tlsKey === undefined) !== (tlsCert === undefined)) {
  process.stderr.write('privkit-server: --tls-key and --tls-cert go together\n');
  process.exit(2);
}
const server = await createServer({
  task: JSON.parse(readFileSync(values.task, 'utf8')),
  port: Number(values.port),
  host: values.host,
  dataDir: values.db,
  ...(tlsKey === undefined || tlsCert === undefined ? {} : { tls: { key: readFileSync(tlsKey, 'utf8'), cert: readFileSync(tlsCert, 'utf8') } }),
  allowInsecureTransport: values['allow-insecure-transport'],
}).catch(
  (error: unknown) => {
    process.stderr.write(`privkit-server: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
const issued = Array.from({ length: Number(values.issue) }, () => `${JSON.stringify(server.issueToken())}\n`).join('');
if (values.tokens === undefined) process.stdout.write(issued);
else {
  const fd = openSync(values.tokens, 'w', 0o600);
  fchmodSync(fd, 0o600); // open's mode applies only to a new file: an existing one is narrowed before the tokens go in
  writeSync(fd, issued);
  closeSync(fd);
}
process.stderr.write(`privkit-server: task ${server.status().id} on ${server.url} (HTTP GET /health, /task), ledger in ${values.db}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
const final = await server.finished;
process.stderr.write(`privkit-server: task finished (${final.finishedBy}), epsilon ${final.epsilon} at delta ${final.delta}\n`);
await server.close();
