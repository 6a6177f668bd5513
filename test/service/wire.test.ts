// The binary wire format of privkit/server and privkit/client: every message round-trips, and every
// malformed, truncated, oversized or padded frame is refused with E_PROTOCOL (property tests, fixed seed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, enrolmentBytes, HEADER_BYTES, maxFrameBytes, WIRE_VERSION, type Message } from 'privkit/server';
import { PrivkitError } from 'privkit';
import { FC_SEED } from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 300, endOnFailure: true });

const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const text = fc.string({ maxLength: 40 });
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const vector = fc.float32Array({ noNaN: true, noDefaultInfinity: true, maxLength: 50 });
const blob = fc.uint8Array({ maxLength: 70 });
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), taskId: text, token: text }),
  fc.constant({ type: 'check-in' as const }),
  fc.record({ type: fc.constant('update' as const), round: u32, delta: vector }),
  fc.record({
    type: fc.constant('welcome' as const),
    clientId: text,
    model: fc.oneof(
      fc.record({ type: fc.constant('softmax-regression' as const), inputs: u32, classes: u32 }),
      fc.record({ type: fc.constant('mlp' as const), inputs: u32, hidden: u32, classes: u32 }),
    ),
    epochs: u32,
    batchSize: u32,
    learningRate: finite,
    clipNorm: finite,
    aggregator: fc.constantFrom('central-dp' as const, 'secagg' as const),
    challenge: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  fc.record({ type: fc.constant('enrol' as const), signingPublicKey: blob, signature: blob }),
  fc.record({ type: fc.constantFrom('secagg' as const, 'secagg-relay' as const), round: u32, payload: blob }),
  fc.constant({ type: 'enrolled' as const }),
  fc.record({
    type: fc.constant('secagg-task' as const),
    round: u32,
    modelVersion: u32,
    deadlineMs: u32,
    phaseMs: u32,
    params: vector,
    rotationSeed: blob,
    scale: finite,
    localSigma: finite,
    conditionalBound: finite,
    setup: blob,
  }),
  fc.record({ type: fc.constant('checked-in' as const), round: u32 }),
  fc.record({ type: fc.constant('task' as const), round: u32, modelVersion: u32, deadlineMs: u32, params: vector }),
  fc.record({ type: fc.constant('round-result' as const), round: u32, status: fc.constantFrom('released' as const, 'withheld' as const, 'aborted' as const), included: u32, modelVersion: u32, epsilon: finite }),
  fc.record({ type: fc.constant('error' as const), code: text, message: text, refSeq: u32 }),
);
const seq = fc.integer({ min: 1, max: 2 ** 32 - 1 });

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    return (error as PrivkitError).code;
  }
  return 'accepted';
}

describe('wire format', () => {
  it('round-trips every message exactly (-0 and float32 values included)', () => {
    fc.assert(
      fc.property(seq, message, (s, m) => {
        const frame = decodeFrame(encodeFrame(s, m));
        expect(frame.seq).toBe(s);
        expect(frame.message).toEqual(m);
      }),
    );
  });

  it('refuses every strict prefix (truncation) and every frame with trailing bytes', () => {
    fc.assert(
      fc.property(seq, message, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (s, m, cut, extra) => {
        const bytes = encodeFrame(s, m);
        expect(refusal(() => decodeFrame(bytes.subarray(0, cut % bytes.length)))).toBe('E_PROTOCOL');
        const padded = new Uint8Array(bytes.length + extra.length);
        padded.set(bytes);
        padded.set(extra, bytes.length);
        expect(refusal(() => decodeFrame(padded))).toBe('E_PROTOCOL');
        // the same padding declared in the header: the body no longer decodes exactly
        new DataView(padded.buffer).setUint32(8, padded.length - HEADER_BYTES, true);
        expect(refusal(() => decodeFrame(padded))).toBe('E_PROTOCOL');
      }),
    );
  });

  it('never throws anything but E_PROTOCOL on corrupted frames, and decodes what it accepts to a well-formed message', () => {
    fc.assert(
      fc.property(seq, message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (s, m, flips) => {
        const bytes = encodeFrame(s, m);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        const code = refusal(() => decodeFrame(bytes));
        if (code === 'accepted') {
          const again = decodeFrame(bytes);
          expect(encodeFrame(again.seq, again.message)).toEqual(bytes); // the encoding is canonical
        } else {
          expect(code).toBe('E_PROTOCOL');
        }
      }),
    );
  });

  it('refuses random bytes with E_PROTOCOL', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void expect(['E_PROTOCOL', 'accepted']).toContain(refusal(() => decodeFrame(bytes)))));
  });

  it('refuses a vector or string over the limits before allocating it, and a header declaring more than the limit', () => {
    const update = encodeFrame(1, { type: 'update', round: 1, delta: new Float32Array(11) });
    expect(decodeFrame(update, { maxVector: 11 }).message.type).toBe('update');
    expect(() => decodeFrame(update, { maxVector: 10 })).toThrow(/exceeds the limit of 10/);
    const hello = encodeFrame(1, { type: 'hello', taskId: 't', token: 'x'.repeat(33) });
    expect(() => decodeFrame(hello, { maxString: 32 })).toThrow(/exceeds the limit of 32/);
    // a 12-byte frame claiming a 4 GB body: refused on the header alone
    const header = new Uint8Array(HEADER_BYTES);
    const view = new DataView(header.buffer);
    view.setUint8(0, WIRE_VERSION);
    view.setUint8(1, 3);
    view.setUint32(4, 1, true);
    view.setUint32(8, 2 ** 32 - 1, true);
    expect(() => decodeFrame(header)).toThrow(/exceeds the limit/);
    // a vector count of 2^32 - 1 inside a short body: refused by the limit, not allocated
    const lying = new Uint8Array(HEADER_BYTES + 8);
    lying.set(header);
    const lv = new DataView(lying.buffer);
    lv.setUint32(8, 8, true);
    lv.setUint32(HEADER_BYTES + 4, 2 ** 32 - 1, true);
    expect(refusal(() => decodeFrame(lying))).toBe('E_PROTOCOL');
    expect(maxFrameBytes({ maxVector: 100 })).toBeGreaterThanOrEqual(HEADER_BYTES + 16 + 400);
    // a byte field (a secure-aggregation message) over maxBytes: refused on its length
    const secagg = encodeFrame(1, { type: 'secagg', round: 1, payload: new Uint8Array(65) });
    expect(decodeFrame(secagg, { maxBytes: 65 }).message.type).toBe('secagg');
    expect(() => decodeFrame(secagg, { maxBytes: 64 })).toThrow(/payload of 65 bytes exceeds the limit of 64/);
  });

  it('refuses bad versions, unknown types, nonzero reserved bytes, sequence 0, non-finite floats and invalid UTF-8', () => {
    const good = () => encodeFrame(7, { type: 'round-result', round: 1, status: 'released', included: 3, modelVersion: 1, epsilon: 0.5 });
    const cases: [string, (b: Uint8Array, v: DataView) => void, RegExp][] = [
      ['version', (b) => (b[0] = WIRE_VERSION + 1), new RegExp(`version ${WIRE_VERSION + 1}`)],
      ['type', (b) => (b[1] = 99), /unknown message type/],
      ['reserved', (b) => (b[2] = 1), /reserved/],
      ['seq', (_, v) => v.setUint32(4, 0, true), /sequence number 0/],
      ['epsilon', (b, v) => v.setFloat64(b.length - 8, Number.NaN, true), /not finite/],
      ['status', (b) => (b[HEADER_BYTES + 4] = 9), /unknown round status/],
    ];
    for (const [, corrupt, pattern] of cases) {
      const bytes = good();
      corrupt(bytes, new DataView(bytes.buffer));
      expect(() => decodeFrame(bytes)).toThrow(pattern);
    }
    const hello = encodeFrame(1, { type: 'hello', taskId: 'ab', token: 'cd' });
    hello[HEADER_BYTES + 2] = 0xff;
    expect(() => decodeFrame(hello)).toThrow(/not UTF-8/);
    const update = encodeFrame(1, { type: 'update', round: 1, delta: Float32Array.of(1, 2) });
    new DataView(update.buffer).setFloat32(HEADER_BYTES + 8, Number.POSITIVE_INFINITY, true);
    expect(() => decodeFrame(update)).toThrow(/delta\[0\] is not finite/);
  });

  it("a welcome's enrolment challenge is 32 bytes, and an enrolment signs it (a version-2 peer, which has none, is refused)", () => {
    const welcome = { type: 'welcome', clientId: 'c', model: { type: 'softmax-regression', inputs: 2, classes: 2 }, epochs: 1, batchSize: 1, learningRate: 0.1, clipNorm: 1, aggregator: 'secagg' } as const;
    const challenge = Uint8Array.from({ length: 32 }, (_, i) => i);
    const frame = encodeFrame(1, { ...welcome, challenge });
    expect(decodeFrame(frame).message).toEqual({ ...welcome, challenge });
    // the challenge's length field says 31, its last byte dropped from the body: refused
    const short = frame.slice(0, -1);
    const view = new DataView(short.buffer);
    view.setUint32(8, short.length - HEADER_BYTES, true);
    view.setUint32(short.length - 35, 31, true);
    expect(() => decodeFrame(short)).toThrow(/challenge of 31 bytes, not 32/);
    expect(refusal(() => encodeFrame(1, { ...welcome, challenge: challenge.subarray(1) }))).toBe('E_ARG');
    const v2 = frame.slice();
    v2[0] = 2;
    expect(() => decodeFrame(v2)).toThrow(new RegExp(`version 2, this side speaks ${WIRE_VERSION}`));
    // the signed bytes name the challenge: another connection's challenge gives other bytes
    const key = new Uint8Array(32).fill(7);
    const other = challenge.map((b) => b ^ 1);
    expect(enrolmentBytes('t', 'c', key, challenge)).not.toEqual(enrolmentBytes('t', 'c', key, other));
    expect(enrolmentBytes('t', 'c', key, challenge).subarray(-32)).toEqual(challenge);
    expect(refusal(() => enrolmentBytes('t', 'c', key, challenge.subarray(1)))).toBe('E_ARG');
  });

  it('refuses to encode out-of-range fields with E_ARG', () => {
    expect(refusal(() => encodeFrame(0, { type: 'check-in' }))).toBe('E_ARG');
    expect(refusal(() => encodeFrame(1, { type: 'checked-in', round: -1 }))).toBe('E_ARG');
    expect(refusal(() => encodeFrame(1, { type: 'nope' } as never))).toBe('E_ARG');
    expect(refusal(() => decodeFrame([1, 2] as never))).toBe('E_ARG');
    expect(refusal(() => decodeFrame(new Uint8Array(12), { maxVector: 0 }))).toBe('E_ARG');
  });
});
