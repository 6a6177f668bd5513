// The messages between the join panel (join-panel.ts) and its client worker (join-worker.ts), which
// runs privkit/client against a privkit/server task.
import type { ClientEvent, RoundResult } from 'privkit/client';

/** What the user sets: the server, the task, the token the server issued, and this client's data and floors. */
export interface JoinConfig {
  url: string;
  taskId: string;
  token: string;
  /** Training digits this client holds (a random run of the demo's training split). */
  digits: number;
  /** Secure-aggregation tasks only (privkit/client's options of the same names); both or neither. */
  minParticipants?: number;
  minNoiseMultiplier?: number;
}

export interface JoinRequest {
  type: 'join';
  config: JoinConfig;
  /** Absolute URL of the MNIST asset (train-protocol.ts). */
  dataUrl: string;
}

export type JoinMessage =
  | { type: 'progress'; text: string }
  | { type: 'event'; event: ClientEvent }
  | { type: 'round'; result: RoundResult }
  /** The server ended the task (close 1000). */
  | { type: 'done'; trainedRounds: number[] }
  /** The session ended with a PrivkitError (its code), or another failure (no code). */
  | { type: 'error'; code?: string; message: string };
