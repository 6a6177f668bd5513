// An honest secure-aggregation round driven one step at a time, for the protocol, fault and attack
// tests: a SecAggServer and SecAggClients c0..c{n-1} (or given ids), each client with its own
// Ed25519 key pair; by default both sides know the participant list with those keys (an
// application-side PKI). Each step takes the clients that act in it (default: every client that
// got the server's message opening it) and returns their messages; deliver() hands them to the server.
import { expect } from 'vitest';
import { PrivkitError } from 'privkit';
import {
  SecAggClient,
  SecAggServer,
  generateSigningKeyPair,
  signMessage,
  type ClientMessage,
  type ConsistencyCheckMessage,
  type EncryptedSharesMessage,
  type KeyAgreementCurve,
  type Participant,
  type PublicKeysMessage,
  type SecAggResult,
  type SigningKeyPair,
  type UnmaskRequestMessage,
} from 'privkit/secagg';

export interface TestRoundOptions {
  /** Client ids (default c0..c{n-1}). */
  ids?: string[];
  n?: number;
  bits?: number;
  length?: number;
  /** Default: a strict majority of the neighbourhood. */
  threshold?: number;
  neighbours?: number;
  minSurvivors?: number;
  /** Each client's minParticipants (default: the threshold). */
  minParticipants?: number;
  roundId?: string;
  curve?: KeyAgreementCurve;
  /** Give clients and server the participant list with the signing keys (default true). */
  expected?: boolean;
  /** Client id -> its input (default: inputOf). */
  input?: (id: string) => Uint32Array;
}

export const LENGTH = 8;
export const BITS = 10;

/** Client c<i>'s default input: i + j (mod 2^10) at position j. */
export function inputOf(id: string): Uint32Array {
  const i = Number(id.slice(1));
  return Uint32Array.from({ length: LENGTH }, (_, j) => (i + j) & 1023);
}

/** The sum the default inputs of `ids` give. */
export function sumOf(ids: readonly string[]): number[] {
  return Array.from({ length: LENGTH }, (_, j) => ids.reduce((s, id) => s + Number(id.slice(1)) + j, 0) & 1023);
}

export class TestRound {
  readonly server: SecAggServer;
  readonly clients: SecAggClient[];
  readonly signingKeys: Map<string, SigningKeyPair>;
  readonly participants: Participant[];
  readonly input: (id: string) => Uint32Array;
  keys = new Map<string, PublicKeysMessage>();
  shares = new Map<string, EncryptedSharesMessage>();
  checks = new Map<string, ConsistencyCheckMessage>();
  requests = new Map<string, UnmaskRequestMessage>();

  private constructor(server: SecAggServer, clients: SecAggClient[], signingKeys: Map<string, SigningKeyPair>, participants: Participant[], input: (id: string) => Uint32Array) {
    this.server = server;
    this.clients = clients;
    this.signingKeys = signingKeys;
    this.participants = participants;
    this.input = input;
  }

  static async create(options: TestRoundOptions = {}): Promise<TestRound> {
    const ids = options.ids ?? Array.from({ length: options.n ?? 3 }, (_, i) => `c${i}`);
    const hood = Math.min(options.neighbours ?? Infinity, ids.length - 1) + 1;
    const threshold = options.threshold ?? Math.floor(hood / 2) + 1;
    const keys = await Promise.all(ids.map(() => generateSigningKeyPair()));
    const signingKeys = new Map(ids.map((id, i) => [id, keys[i]!]));
    const participants = ids.map((id, i) => ({ id, signingPublicKey: keys[i]!.publicKey }));
    const expected = options.expected ?? true;
    const server = new SecAggServer({
      clients: ids,
      bits: options.bits ?? BITS,
      length: options.length ?? LENGTH,
      threshold,
      roundId: options.roundId ?? 'round-1',
      ...(options.neighbours === undefined ? {} : { neighbours: options.neighbours }),
      ...(options.minSurvivors === undefined ? {} : { minSurvivors: options.minSurvivors }),
      ...(options.curve === undefined ? {} : { curve: options.curve }),
      ...(expected ? { expectedParticipants: participants } : {}),
    });
    const minParticipants = options.minParticipants ?? threshold;
    const clients = ids.map(
      (id, i) => new SecAggClient(id, { minParticipants, signingKey: keys[i]!, ...(expected ? { expectedParticipants: participants } : {}) }),
    );
    return new TestRound(server, clients, signingKeys, participants, options.input ?? inputOf);
  }

  client(id: string): SecAggClient {
    return this.clients.find((c) => c.id === id)!;
  }

  /** `message` altered by its own sender: `change` applied, then signed again with the sender's key. */
  async resigned<T extends ClientMessage>(message: T, change: Partial<T>): Promise<T> {
    const { signature: _old, ...rest } = { ...message, ...change };
    return signMessage<T>(rest as Omit<T, 'signature'>, this.signingKeys.get(message.sender)!.privateKey);
  }

  async advertise(who = this.clients): Promise<ClientMessage[]> {
    const setup = this.server.setupMessage ?? (await this.server.setup());
    return Promise.all(who.map((c) => c.advertiseKeys(setup)));
  }

  async shareKeys(who = this.clients.filter((c) => this.keys.has(c.id))): Promise<ClientMessage[]> {
    return Promise.all(who.map((c) => c.shareKeys(this.keys.get(c.id)!)));
  }

  async maskedInput(who = this.clients.filter((c) => this.shares.has(c.id))): Promise<ClientMessage[]> {
    return Promise.all(who.map((c) => c.maskedInput(this.shares.get(c.id)!, this.input(c.id))));
  }

  async consistency(who = this.clients.filter((c) => this.checks.has(c.id))): Promise<ClientMessage[]> {
    return Promise.all(who.map((c) => c.consistencyCheck(this.checks.get(c.id)!)));
  }

  async unmask(who = this.clients.filter((c) => this.requests.has(c.id))): Promise<ClientMessage[]> {
    return Promise.all(who.map((c) => c.unmask(this.requests.get(c.id)!)));
  }

  async deliver(messages: readonly ClientMessage[]): Promise<void> {
    for (const m of messages) await this.server.receive(m);
  }

  /** Runs the rest of the round: every client still at the server's current step sends, then the server closes. */
  async finish(): Promise<SecAggResult> {
    const at = (state: SecAggClient['state'], inRound: Map<string, unknown>) => this.clients.filter((c) => c.state === state && inRound.has(c.id));
    if (this.server.round === 'advertise-keys') {
      await this.deliver(await this.advertise(this.clients.filter((c) => c.state === 'setup')));
      this.keys = this.server.closeAdvertiseKeys();
    }
    if (this.server.round === 'share-keys') {
      await this.deliver(await this.shareKeys(at('public-keys', this.keys)));
      this.shares = this.server.closeShareKeys();
    }
    if (this.server.round === 'masked-input') {
      await this.deliver(await this.maskedInput(at('encrypted-shares', this.shares)));
      this.checks = this.server.closeMaskedInput();
    }
    if (this.server.round === 'consistency-check') {
      await this.deliver(await this.consistency(at('consistency-check', this.checks)));
      this.requests = this.server.closeConsistencyCheck();
    }
    await this.deliver(await this.unmask(at('unmask-request', this.requests)));
    const result = await this.server.closeUnmasking();
    const input = this.input;
    const expected = Array.from({ length: result.sum.length }, (_, j) => result.included.reduce((s, id) => s + input(id)[j]!, 0) % 2 ** 32);
    const mask = this.server.setupMessage!.bits === 32 ? 0xffffffff : 2 ** this.server.setupMessage!.bits - 1;
    expect(Array.from(result.sum)).toEqual(expected.map((v) => (v & mask) >>> 0));
    return result;
  }

  /** Runs every step up to (not including) the named server close. */
  async until(round: 'advertise-keys' | 'share-keys' | 'masked-input' | 'consistency-check' | 'unmasking'): Promise<void> {
    const order = ['advertise-keys', 'share-keys', 'masked-input', 'consistency-check', 'unmasking'] as const;
    for (const step of order) {
      if (step === round) return;
      switch (step) {
        case 'advertise-keys':
          await this.deliver(await this.advertise());
          this.keys = this.server.closeAdvertiseKeys();
          break;
        case 'share-keys':
          await this.deliver(await this.shareKeys());
          this.shares = this.server.closeShareKeys();
          break;
        case 'masked-input':
          await this.deliver(await this.maskedInput());
          this.checks = this.server.closeMaskedInput();
          break;
        case 'consistency-check':
          await this.deliver(await this.consistency());
          this.requests = this.server.closeConsistencyCheck();
          break;
      }
    }
  }
}

/** Awaits a rejection with PrivkitError `code` and returns it. */
export async function rejects(promise: Promise<unknown>, code: string): Promise<PrivkitError> {
  const error = await promise.then(
    () => expect.fail(`expected ${code}, but the call succeeded`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PrivkitError);
  expect((error as PrivkitError).code, (error as Error).message).toBe(code);
  return error as PrivkitError;
}
