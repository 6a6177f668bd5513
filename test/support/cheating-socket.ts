// A WebSocket class for a malicious client of privkit/server (test/e2e/server-secagg.test.ts,
// test/e2e/cluster-secagg.test.ts): one kind of its outgoing SecAgg+ messages is altered and signed
// again with the client's own enrolled key, so the server sees a validly signed lie.
import { WebSocket } from 'ws';
import type { WebSocketLike } from 'privkit/client';
import { decodeBinaryMessage, encodeBinaryMessage, signMessage, type ClientMessage, type SetupMessage, type SigningKeyPair } from 'privkit/secagg';
import { decodeFrame, encodeFrame } from 'privkit/server';

/**
 * A WebSocket class for a malicious client: its outgoing SecAgg message of `type` is altered and signed
 * again with the client's own (enrolled) key, so the server sees a validly signed lie.
 */
export function cheatingSocket<T extends ClientMessage>(signingKey: SigningKeyPair, type: T['type'], alter: (message: Omit<T, 'signature'>) => Omit<T, 'signature'>) {
  return class extends (WebSocket as unknown as new (url: string) => WebSocketLike) {
    #setup: SetupMessage | undefined;
    override send(data: Uint8Array): void {
      const { seq, message } = decodeFrame(data);
      const setup = this.#setup;
      if (message.type !== 'secagg' || setup === undefined) return super.send(data);
      const { signature: _, ...unsigned } = decodeBinaryMessage(message.payload, { setup }) as T;
      if (unsigned.type !== type) return super.send(data);
      void signMessage<T>(alter(unsigned), signingKey.privateKey).then((cheat) => super.send(encodeFrame(seq, { ...message, payload: encodeBinaryMessage(cheat, setup) })));
    }
    override set onmessage(handler: WebSocketLike['onmessage']) {
      super.onmessage = (event) => {
        const { message } = decodeFrame(new Uint8Array(event.data as ArrayBuffer));
        if (message.type === 'secagg-task') this.#setup = decodeBinaryMessage(message.setup) as SetupMessage;
        handler?.(event);
      };
    }
  } as never;
}

