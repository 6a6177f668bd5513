// The binary form of the secure-aggregation messages: every message of a real SecAgg+ round
// round-trips exactly; masked inputs are packed at `bits` bits a value (property test, every bits);
// truncated, padded, non-canonical and over-the-round messages are refused with E_PROTOCOL before
// anything large is allocated.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import {
  SecAggClient,
  SecAggServer,
  decodeBinaryMessage,
  encodeBinaryMessage,
  generateSigningKeyPair,
  type MaskedInputMessage,
  type SecAggMessage,
  type SetupMessage,
} from 'privkit/secagg';
import { FC_SEED } from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 200, endOnFailure: true });

function code(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    return (error as PrivkitError).code;
  }
  return 'accepted';
}

/** Every message of one honest SecAgg+ round of 6 clients (4 neighbours), in order. */
const messages: SecAggMessage[] = [];
let setup: SetupMessage;
beforeAll(async () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  const keys = await Promise.all(ids.map(() => generateSigningKeyPair()));
  const expectedParticipants = ids.map((id, i) => ({ id, signingPublicKey: keys[i]!.publicKey }));
  const server = new SecAggServer({ clients: ids, bits: 13, length: 7, threshold: 3, neighbours: 4, expectedParticipants });
  const clients = ids.map((id, i) => new SecAggClient(id, { minParticipants: 3, signingKey: keys[i]!, expectedParticipants }));
  setup = await server.setup();
  messages.push(setup);
  const phase = async (out: Map<string, SecAggMessage>, act: (c: SecAggClient, m: never) => Promise<SecAggMessage>) => {
    messages.push(...out.values());
    for (const c of clients) {
      const reply = await act(c, out.get(c.id) as never);
      messages.push(reply);
      await server.receive(reply as never);
    }
  };
  await phase(new Map(ids.map((id) => [id, setup])), (c, m) => c.advertiseKeys(m));
  await phase(server.closeAdvertiseKeys(), (c, m) => c.shareKeys(m));
  await phase(server.closeShareKeys(), (c, m) => c.maskedInput(m, Uint32Array.from({ length: 7 }, (_, j) => (j * 1171) % 8192)));
  await phase(server.closeMaskedInput(), (c, m) => c.consistencyCheck(m));
  await phase(server.closeConsistencyCheck(), (c, m) => c.unmask(m));
  await server.closeUnmasking();
});

describe('binary secure-aggregation messages', () => {
  it('round-trips every message of a SecAgg+ round exactly, within the round limits', () => {
    expect(new Set(messages.map((m) => m.type)).size).toBe(10);
    for (const m of messages) {
      const bytes = encodeBinaryMessage(m, setup);
      expect(decodeBinaryMessage(bytes, { setup })).toEqual(m);
      if (m.type !== 'masked-input') expect(decodeBinaryMessage(bytes)).toEqual(m);
    }
  });

  it('packs a masked input at bits bits per value (exact for every bits and value)', () => {
    const masked = messages.find((m) => m.type === 'masked-input') as MaskedInputMessage;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 32 }), fc.array(fc.nat({ max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 40 }), (bits, raw) => {
        const words = Uint32Array.from(raw, (v) => v % 2 ** bits);
        const round = { ...setup, bits, length: words.length };
        const message = { ...masked, maskedInput: words };
        const bytes = encodeBinaryMessage(message, round);
        const fixed = encodeBinaryMessage({ ...message, maskedInput: new Uint32Array(0) }, { ...round, length: 0 } as never);
        expect(bytes.length - fixed.length).toBe(Math.ceil((words.length * bits) / 8));
        // the layout, against a BigInt reference: value i at bits [i bits, (i + 1) bits) of a little-endian integer,
        // after the type byte, the two strings (u16 length + UTF-8) and the vector's bits (u8) and count (u32)
        const start = 1 + 2 + new TextEncoder().encode(message.roundId).length + 2 + new TextEncoder().encode(message.sender).length + 5;
        let packed = 0n;
        words.forEach((w, i) => (packed |= BigInt(w) << BigInt(i * bits)));
        const expected = Uint8Array.from({ length: Math.ceil((words.length * bits) / 8) }, (_, k) => Number((packed >> BigInt(8 * k)) & 0xffn));
        expect(bytes.subarray(start, start + expected.length)).toEqual(expected);
        expect(decodeBinaryMessage(bytes, { setup: round })).toEqual(message);
      }),
    );
  });

  it('refuses truncated, padded and corrupted messages with E_PROTOCOL only', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (pick, at, value) => {
        const m = messages[pick % messages.length]!;
        const bytes = encodeBinaryMessage(m, setup);
        expect(code(() => decodeBinaryMessage(bytes.subarray(0, at % bytes.length), { setup }))).toBe('E_PROTOCOL');
        const padded = new Uint8Array(bytes.length + 1);
        padded.set(bytes);
        expect(code(() => decodeBinaryMessage(padded, { setup }))).toBe('E_PROTOCOL');
        const flipped = bytes.slice();
        flipped[at % bytes.length] = value;
        const outcome = code(() => decodeBinaryMessage(flipped, { setup }));
        if (outcome === 'accepted') expect(encodeBinaryMessage(decodeBinaryMessage(flipped, { setup }), setup)).toEqual(flipped); // canonical
        else expect(outcome).toBe('E_PROTOCOL');
      }),
    );
  });

  it("refuses a vector of another round's length or bits, nonzero padding bits and lists beyond the round, before allocating", () => {
    const masked = messages.find((m) => m.type === 'masked-input') as MaskedInputMessage;
    const bytes = encodeBinaryMessage(masked, setup);
    expect(() => decodeBinaryMessage(bytes, { setup: { ...setup, length: 6 } })).toThrow(/7 values, at most 6/);
    expect(() => decodeBinaryMessage(bytes, { setup: { ...setup, bits: 12 } })).toThrow(/packed at 13 bits/);
    // 7 x 13 = 91 bits: the last byte's top 5 bits must be zero
    const words = encodeBinaryMessage({ ...masked, maskedWith: [], rejected: [] }, setup);
    const lastPacked = words.length - (2 + masked.signature.length) - 4 - 4 - 1; // before two empty id lists and the signature
    words[lastPacked] = words[lastPacked]! | 0x80;
    expect(() => decodeBinaryMessage(words, { setup })).toThrow(/nonzero padding bits/);
    // a list count beyond the round's clients, and a huge vector count in a short message: refused on the count
    const keys = messages.find((m) => m.type === 'public-keys')!;
    const many = encodeBinaryMessage(keys, setup);
    const view = new DataView(many.buffer);
    const countAt = 1 + (2 + new TextEncoder().encode(setup.roundId).length) + (2 + 1);
    view.setUint32(countAt, 2 ** 32 - 1, true);
    expect(() => decodeBinaryMessage(many, { setup })).toThrow(/at most 5 fit the round/);
    const lying = bytes.slice(0, 1 + (2 + new TextEncoder().encode(setup.roundId).length) + (2 + 1) + 5);
    new DataView(lying.buffer).setUint32(lying.length - 4, 2 ** 30, true);
    expect(() => decodeBinaryMessage(lying)).toThrow(/truncated/);
    expect(code(() => decodeBinaryMessage([1] as never))).toBe('E_ARG');
    expect(code(() => encodeBinaryMessage(masked))).toBe('E_PROTOCOL'); // a vector needs the round's bits
  });
});
