// privkit/server (Node only): a federated-averaging service over WebSocket with central DP or SecAgg+
// (distributed DP, Ed25519 enrolment), bearer tokens per task, deadlines, and a crash-safe privacy
// ledger on SQLite. Needs the optional peer dependencies `ws` (8.x) and `better-sqlite3` (12.x); its
// scale-out over Redis (createCoordinator, createAggregator; central DP) also `redis` (node-redis 6.x).
export { createServer } from './server.js';
export type { BannedClient, FinishedBy, IssuedToken, PrivkitServer, ServerOptions, TaskOptions, TaskStatus } from './server.js';
export type { ListenOptions } from './connections.js';
export { createAggregator, createCoordinator } from './cluster.js';
export type { AggregatorOptions, ClusterAggregator, ClusterCoordinator, CoordinatorOptions } from './cluster.js';
export { LEDGER_FILE } from './ledger.js';
export type { LedgerRound, LedgerRoundStatus } from './ledger.js';
export { decodeFrame, encodeFrame, enrolmentBytes, maxFrameBytes, MessageType, WIRE_VERSION, HEADER_BYTES } from '../service/wire.js';
export type { Frame, Message, MessageTypeNumber, RoundStatus, WireAggregator, WireLimits, WireModelSpec } from '../service/wire.js';
