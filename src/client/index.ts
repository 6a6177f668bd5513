// privkit/client (browsers, Web Workers and Node): joins a privkit/server task over WebSocket, trains
// the model it is sent with privkit/fl's localUpdate and uploads its update in the binary wire format.
export { connect } from './client.js';
export type { ClientEvent, ClientOptions, ClientSession, ClientSummary, QuantizedInput, RefusedRound, RoundResult, WebSocketConstructor, WebSocketLike } from './client.js';
