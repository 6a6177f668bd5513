// Sweep rows of privkit/secagg: masks, the communication graph, Shamir sharing, quantization and
// rotation, the distributed DP plan, the wire format, and the client and server of a 3-client
// round (each protocol step called with a fresh round brought to that step).
import * as sa from 'privkit/secagg';
import {
  arrayOf,
  bool,
  instance,
  int,
  num,
  obj,
  oneOf,
  opaque,
  positive,
  probability,
  rngField,
  str,
  typed,
  union,
  type Domain,
  type Row,
  type SweepRow,
} from '../sweep-harness.js';
import { TestRound } from '../../secagg/round.js';
import { matrix, seedBytes, seeded } from './fixtures.js';

const entry = 'privkit/secagg';

const constants: SweepRow[] = [
  'MAX_CLIENTS',
  'MAX_ID_LENGTH',
  'MAX_MESSAGE_CHARS',
  'MAX_NEIGHBOURHOOD',
  'MAX_ROUNDING_ATTEMPTS',
  'MAX_QUANTIZED_MAGNITUDE',
  'ROTATION_STREAM',
  'MAX_ROTATION_LENGTH',
  'SHAMIR_PRIME',
].map((name) => ({ entry, export: name, constant: true }));

const bitsDomain = int(1, 32);
const seedDomain = { name: 'seed', domain: typed('Uint8Array') };
const id = str(sa.MAX_ID_LENGTH);
const bytes = typed('Uint8Array');

const maskRows: Row[] = [
  {
    entry,
    export: 'applyMasks',
    params: [
      { name: 'target', domain: typed('Uint32Array') },
      { name: 'masks', domain: arrayOf(obj({ seed: bytes, subtract: bool({ optional: true }) })) },
      { name: 'bits', domain: int(1, 32, { optional: true }) },
    ],
    args: () => [Uint32Array.of(1, 2, 3, 4), [{ seed: seedBytes(1) }, { seed: seedBytes(2), subtract: true }], 20],
    call: ([t, m, b]) => sa.applyMasks(t, m, b),
  },
  { entry, export: 'wordMask', params: [{ name: 'bits', domain: bitsDomain }], args: () => [20], call: ([b]) => sa.wordMask(b) },
];

const graphRows: Row[] = [
  {
    entry,
    export: 'communicationGraph',
    params: [{ name: 'count', domain: int(1, sa.MAX_CLIENTS) }, { name: 'neighbours', domain: int(2, 2 ** 31, { optional: true }) }, seedDomain],
    args: () => [10, 4, seedBytes()],
    call: ([c, k, s]) => sa.communicationGraph(c, k, s),
    notApplicable: { 'neighbours=0.5': 'fractional: refused as NaN' },
  },
  {
    entry,
    export: 'CommunicationGraph',
    label: 'new CommunicationGraph',
    params: [{ name: 'count', domain: int(1, sa.MAX_CLIENTS) }, { name: 'neighbours', domain: int(2, 2 ** 31, { optional: true }) }, seedDomain],
    args: () => [10, 4, seedBytes()],
    call: ([c, k, s]) => new sa.CommunicationGraph(c, k, s),
    observe: (g: sa.CommunicationGraph) => Array.from({ length: g.size }, (_, u) => g.neighbours(u)),
  },
  ...(['neighbours', 'within', 'nearest', 'linked'] as const).map(
    (method): Row => ({
      entry,
      export: 'CommunicationGraph',
      label: `CommunicationGraph#${method}`,
      setup: () => new sa.CommunicationGraph(10, 4, seedBytes()),
      params: [{ name: 'u', domain: int(0, 9) }, ...(method === 'neighbours' ? [] : [{ name: method === 'linked' ? 'v' : 'hops', domain: method === 'linked' ? int(0, 9) : int(0) }])],
      args: () => (method === 'neighbours' ? [3] : [3, method === 'linked' ? 4 : 2]),
      call: (args, g: sa.CommunicationGraph) => (g[method] as (...a: unknown[]) => unknown)(...args),
    }),
  ),
  {
    entry,
    export: 'CommunicationGraph',
    label: 'CommunicationGraph#countAround',
    setup: () => new sa.CommunicationGraph(10, 4, seedBytes()),
    params: [{ name: 'u', domain: int(0, 9) }, { name: 'members', domain: instance('Set of client indices') }],
    args: () => [3, new Set([1, 2, 3, 4])],
    call: ([u, m], g: sa.CommunicationGraph) => g.countAround(u, m),
  },
  {
    entry,
    export: 'CommunicationGraph',
    label: 'CommunicationGraph#components',
    setup: () => new sa.CommunicationGraph(10, 4, seedBytes()),
    params: [{ name: 'members', domain: arrayOf(int(0, 9)) }],
    args: () => [[1, 2, 3, 7]],
    call: ([m], g: sa.CommunicationGraph) => g.components(m),
  },
];

const prime = { prime: { kind: 'bigint', min: 3n, optional: true } as Domain };
const SMALL_PRIME = 2n ** 127n - 1n;
/** Two shares (x = 1, 2) of some secret: combining them is deterministic. */
const FIXED_SHARES: sa.ShamirShare[] = [
  { x: 1, y: 123456789n },
  { x: 2, y: 987654321n },
];
const share = obj({ x: int(1), y: { kind: 'bigint', min: 0n } });
const shamirRows: Row[] = [
  {
    entry,
    export: 'shamirSplit',
    params: [
      { name: 'secret', domain: { kind: 'bigint', min: 0n, max: SMALL_PRIME - 1n } },
      { name: 'threshold', domain: int(1, 4096) },
      { name: 'count', domain: int(1, 65536) },
      { name: 'opts', domain: obj({ ...prime, xs: arrayOf(int(1), { optional: true }) }, { optional: true }) },
    ],
    args: () => [12345n, 2, 3, { prime: SMALL_PRIME, xs: [1, 5, 9] }],
    call: ([s, t, n, o]) => sa.shamirSplit(s, t, n, o),
    observe: (shares: sa.ShamirShare[]) => sa.shamirCombine(shares, 2, { prime: SMALL_PRIME }),
    random: 'fresh polynomial coefficients from the CSPRNG (the shares combine to the secret)',
  },
  {
    entry,
    export: 'shamirCombine',
    params: [{ name: 'shares', domain: arrayOf(share) }, { name: 'threshold', domain: int(1, 4096) }, { name: 'opts', domain: obj(prime, { optional: true }) }],
    // fixed shares: with a wrong prime (opts null or {} means 2^521 - 1) two calls must still agree
    args: () => [FIXED_SHARES, 2, { prime: SMALL_PRIME }],
    call: ([s, t, o]) => sa.shamirCombine(s, t, o),
  },
  {
    entry,
    export: 'shamirCombiner',
    params: [{ name: 'threshold', domain: int(1, 4096) }, { name: 'opts', domain: obj(prime, { optional: true }) }],
    args: () => [2, { prime: SMALL_PRIME }],
    call: ([t, o]) => sa.shamirCombiner(t, o)(FIXED_SHARES),
  },
  {
    entry,
    export: 'shamirCombiner',
    label: 'shamirCombiner()(shares)',
    setup: () => sa.shamirCombiner(2, { prime: SMALL_PRIME }),
    params: [{ name: 'shares', domain: arrayOf(share) }],
    args: () => [FIXED_SHARES],
    call: ([s], combine: (shares: unknown) => bigint) => combine(s),
  },
  {
    entry,
    export: 'lagrangeAtZero',
    params: [{ name: 'xs', domain: arrayOf(int(1)) }, { name: 'opts', domain: obj(prime, { optional: true }) }],
    args: () => [[1, 2, 5], { prime: SMALL_PRIME }],
    call: ([x, o]) => sa.lagrangeAtZero(x, o),
  },
];

const quantizeRows: Row[] = [
  {
    entry,
    export: 'quantize',
    params: [
      { name: 'x', domain: typed('Float32Array') },
      {
        name: 'opts',
        domain: obj({
          scale: positive(),
          bits: bitsDomain,
          noiseSigma: num({ min: 0, max: 2 ** 24, optional: true }),
          rounding: oneOf(['stochastic', 'conditional'], { optional: true }),
          conditionalBound: positive({ optional: true }),
          rng: rngField(),
        }),
      },
    ],
    args: () => [matrix(), { scale: 8, bits: 16, noiseSigma: 1.5, rounding: 'conditional', conditionalBound: 100, rng: seeded() }],
    call: ([x, o]) => sa.quantize(x, o),
  },
  {
    entry,
    export: 'dequantize',
    params: [{ name: 'sum', domain: typed('Uint32Array') }, { name: 'opts', domain: obj({ scale: positive(), bits: bitsDomain }) }],
    args: () => [Uint32Array.of(1, 65535, 300), { scale: 4, bits: 16 }],
    call: ([s, o]) => sa.dequantize(s, o),
  },
  { entry, export: 'rotationLength', params: [{ name: 'length', domain: int(0, sa.MAX_ROTATION_LENGTH) }], args: () => [5], call: ([n]) => sa.rotationLength(n) },
  { entry, export: 'randomizedHadamard', params: [{ name: 'x', domain: typed('Float32Array') }, seedDomain], args: () => [matrix(), seedBytes()], call: ([x, s]) => sa.randomizedHadamard(x, s) },
  {
    entry,
    export: 'inverseRandomizedHadamard',
    params: [{ name: 'y', domain: typed('Float32Array') }, seedDomain, { name: 'length', domain: int(0, 8) }],
    args: () => [Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), seedBytes(), 6],
    call: ([y, s, n]) => sa.inverseRandomizedHadamard(y, s, n),
  },
];

const planOptions = obj({
  clipNorm: positive(),
  dimension: int(1, sa.MAX_ROTATION_LENGTH),
  clients: int(1),
  noiseMultiplier: positive(),
  noiseClients: int(1, Number.MAX_SAFE_INTEGER, { optional: true }),
  bits: int(1, 32, { optional: true }),
  wrapProbability: probability({ optional: true }),
  beta: probability({ optional: true }),
});
const plan = () => sa.planDistributedDp({ clipNorm: 1, dimension: 100, clients: 10, noiseMultiplier: 1, bits: 20 });
const ddpRows: Row[] = [
  {
    entry,
    export: 'planDistributedDp',
    params: [{ name: 'options', domain: planOptions }],
    args: () => [{ clipNorm: 1, dimension: 100, clients: 10, noiseMultiplier: 1, noiseClients: 8, bits: 20, wrapProbability: 1e-9, beta: 0.5 }],
    call: ([o]) => sa.planDistributedDp(o),
  },
  {
    entry,
    export: 'planDistributedDp',
    label: 'DistributedDpPlan#wrapProbabilityFor',
    setup: plan,
    params: [{ name: 'clients', domain: int(0) }],
    args: () => [5],
    call: ([n], p: sa.DistributedDpPlan) => p.wrapProbabilityFor(n),
  },
  {
    entry,
    export: 'planDistributedDp',
    label: 'DistributedDpPlan#event',
    setup: plan,
    params: [
      {
        name: 'round',
        domain: obj(
          { clients: int(1, Number.MAX_SAFE_INTEGER, { optional: true }), sampleRate: num({ above: 0, max: 1, optional: true }), sampling: oneOf(['poisson', 'without-replacement'], { optional: true }) },
          { optional: true },
        ),
      },
    ],
    args: () => [{ clients: 8, sampleRate: 0.5, sampling: 'poisson' }],
    call: ([r], p: sa.DistributedDpPlan) => p.event(r),
  },
];

// ---- the wire format and a round's messages

const curve = oneOf(['X25519', 'P-256']);
const setupDomain = obj({
  type: oneOf(['setup']),
  roundId: id,
  clients: arrayOf(id),
  bits: bitsDomain,
  length: int(1, 1 << 24),
  threshold: int(1, sa.MAX_CLIENTS),
  neighbours: int(2, Number.MAX_SAFE_INTEGER, { optional: true }),
  graphSeed: bytes,
  curve,
});
/** The wire format checks a message's structure only (integers >= 0); the round's rules are the client's. */
const wireSetupDomain = obj({
  type: oneOf(['setup']),
  roundId: id,
  clients: arrayOf(id),
  bits: int(0),
  length: int(0),
  threshold: int(0),
  neighbours: int(0, Number.MAX_SAFE_INTEGER, { optional: true }),
  graphSeed: bytes,
  curve,
});
const advertiseFields = { type: oneOf(['advertise-keys']), roundId: id, sender: id, cPublicKey: bytes, sPublicKey: bytes, signingPublicKey: bytes };
const advertiseDomain = obj({ ...advertiseFields, signature: bytes });
/** What signMessage takes: the message without its signature. */
const unsignedAdvertiseDomain = obj(advertiseFields);
const publicKeysDomain = obj({
  type: oneOf(['public-keys']),
  roundId: id,
  recipient: id,
  keys: arrayOf(obj({ id, cPublicKey: bytes, sPublicKey: bytes, signingPublicKey: bytes, signature: bytes })),
});
const encryptedSharesDomain = obj({
  type: oneOf(['encrypted-shares']),
  roundId: id,
  recipient: id,
  shares: arrayOf(obj({ peer: id, keyShare: bytes, selfMaskShare: bytes })),
});
const consistencyDomain = obj({
  type: oneOf(['consistency-check']),
  roundId: id,
  recipient: id,
  survivors: arrayOf(id),
  statements: arrayOf(obj({ sender: id, inputDigest: bytes, maskedWith: arrayOf(id), rejected: arrayOf(id), signature: bytes })),
  signingKeys: arrayOf(obj({ id, signingPublicKey: bytes })),
});
const unmaskRequestDomain = obj({ type: oneOf(['unmask-request']), roundId: id, recipient: id, signatures: arrayOf(obj({ signer: id, signature: bytes })) });

/** A setup message with fixed contents (a round's own setup has a random graph seed). */
const fixedSetup = (): sa.SetupMessage => ({
  type: 'setup',
  roundId: 'round-1',
  clients: ['c0', 'c1', 'c2'],
  bits: 10,
  length: 8,
  threshold: 2,
  neighbours: 2,
  graphSeed: seedBytes(5),
  curve: 'X25519',
});
/** Protocol messages are checked as messages: errors name 'message' and give the field's path in the text. */
const MESSAGE_ALIASES = { setup: ['message'], encoded: ['message'] };

/**
 * A round's protocol state on both sides (Row.stateOf): a call it refused without changing it hands
 * the round to the next call, so the sweep builds a round only after a call that went through.
 */
const roundState = (r: TestRound) => ({ server: r.server.round, from: r.server.receivedFrom, convicted: r.server.convicted, clients: r.clients.map((c) => c.state) });

/** A fresh 3-client round brought up to (not including) the server's close of `round`. */
async function roundAt(round: Parameters<TestRound['until']>[0]): Promise<TestRound> {
  const r = await TestRound.create({ n: 3 });
  await r.until(round);
  return r;
}

const protocolRows: Row[] = [
  {
    entry,
    export: 'SecAggServer',
    label: 'new SecAggServer',
    params: [
      {
        name: 'options',
        domain: obj({
          clients: arrayOf(id),
          bits: bitsDomain,
          length: int(1, 1 << 24),
          threshold: int(1, sa.MAX_CLIENTS),
          minSurvivors: int(1, sa.MAX_CLIENTS, { optional: true }),
          neighbours: int(2, Number.MAX_SAFE_INTEGER, { optional: true }),
          roundId: str(sa.MAX_ID_LENGTH, { optional: true }),
          curve: oneOf(['X25519', 'P-256'], { optional: true }),
          expectedParticipants: arrayOf(obj({ id, signingPublicKey: bytes }), { optional: true }),
        }),
      },
    ],
    args: () => [{ clients: ['a', 'b', 'c'], bits: 16, length: 4, threshold: 2, minSurvivors: 2, neighbours: 2, roundId: 'r1', curve: 'X25519', expectedParticipants: ['a', 'b', 'c'].map((p) => ({ id: p, signingPublicKey: seedBytes(p.charCodeAt(0)) })) }],
    call: ([o]) => new sa.SecAggServer(o).roundId,
  },
  {
    entry,
    export: 'SecAggServer',
    label: 'SecAggServer#setup,round,roundId,receivedFrom',
    setup: () => TestRound.create({ n: 3 }),
    params: [],
    args: () => [],
    call: async (_, r: TestRound) => {
      const setup = await r.server.setup();
      return { type: setup.type, round: r.server.round, from: r.server.receivedFrom, convicted: r.server.convicted, result: r.server.result };
    },
  },
  {
    entry,
    export: 'SecAggServer',
    label: 'SecAggServer#receive advertise-keys',
    setup: async () => {
      const r = await TestRound.create({ n: 3 });
      const [message] = await r.advertise([r.clients[0]!]);
      return { r, message };
    },
    stateOf: ({ r }) => roundState(r),
    params: [{ name: 'message', domain: advertiseDomain }],
    args: ({ message }) => [message],
    call: async ([m], { r }) => {
      await r.server.receive(m);
      return r.server.receivedFrom;
    },
  },
  {
    entry,
    export: 'SecAggClient',
    label: 'new SecAggClient',
    params: [
      { name: 'id', domain: id },
      {
        name: 'options',
        domain: obj({
          minParticipants: int(1, sa.MAX_CLIENTS),
          signingKey: obj({ privateKey: instance('CryptoKey'), publicKey: bytes }, { optional: true }),
          expectedParticipants: arrayOf(obj({ id, signingPublicKey: bytes }), { optional: true }),
        }),
      },
    ],
    setup: () => sa.generateSigningKeyPair(),
    args: (key: sa.SigningKeyPair) => ['a', { minParticipants: 2, signingKey: key, expectedParticipants: [{ id: 'a', signingPublicKey: key.publicKey }] }],
    call: ([i, o]) => new sa.SecAggClient(i, o).state,
  },
  {
    entry,
    export: 'SecAggClient',
    label: 'SecAggClient#advertiseKeys',
    aliases: MESSAGE_ALIASES,
    setup: async () => {
      const r = await TestRound.create({ n: 3 });
      return { r, setup: await r.server.setup() };
    },
    stateOf: ({ r }) => roundState(r),
    params: [{ name: 'setup', domain: setupDomain }],
    args: ({ setup }) => [setup],
    call: async ([s], { r }) => (await r.clients[0]!.advertiseKeys(s)).type,
  },
  {
    entry,
    export: 'SecAggClient',
    label: 'SecAggClient#shareKeys',
    setup: () => roundAt('share-keys'),
    stateOf: roundState,
    params: [{ name: 'message', domain: publicKeysDomain }],
    args: (r: TestRound) => [r.keys.get('c0')],
    call: async ([m], r: TestRound) => (await r.clients[0]!.shareKeys(m)).shares.length,
  },
  {
    entry,
    export: 'SecAggClient',
    label: 'SecAggClient#maskedInput',
    setup: () => roundAt('masked-input'),
    stateOf: roundState,
    params: [
      { name: 'message', domain: encryptedSharesDomain },
      { name: 'input', domain: typed('Uint32Array') },
    ],
    args: (r: TestRound) => [r.shares.get('c0'), r.input('c0')],
    call: async ([m, x], r: TestRound) => (await r.clients[0]!.maskedInput(m, x)).maskedWith,
  },
  {
    entry,
    export: 'SecAggClient',
    label: 'SecAggClient#consistencyCheck',
    setup: () => roundAt('consistency-check'),
    stateOf: roundState,
    params: [{ name: 'message', domain: consistencyDomain }],
    args: (r: TestRound) => [r.checks.get('c0')],
    call: async ([m], r: TestRound) => (await r.clients[0]!.consistencyCheck(m)).type,
  },
  {
    entry,
    export: 'SecAggClient',
    label: 'SecAggClient#unmask',
    setup: () => roundAt('unmasking'),
    stateOf: roundState,
    params: [{ name: 'message', domain: unmaskRequestDomain }],
    args: (r: TestRound) => [r.requests.get('c0')],
    call: async ([m], r: TestRound) => (await r.clients[0]!.unmask(m)).keyShares.length,
  },
  {
    entry,
    export: 'simulateRound',
    params: [
      {
        name: 'options',
        domain: obj({
          inputs: arrayOf(typed('Uint32Array')),
          bits: bitsDomain,
          threshold: int(1, sa.MAX_CLIENTS),
          neighbours: int(2, Number.MAX_SAFE_INTEGER, { optional: true }),
          minSurvivors: int(1, sa.MAX_CLIENTS, { optional: true }),
          dropBeforeShareKeys: arrayOf(int(0, 2), { optional: true }),
          dropBeforeMaskedInput: arrayOf(int(0, 2), { optional: true }),
          dropAfterMaskedInput: arrayOf(int(0, 2), { optional: true }),
          roundId: str(sa.MAX_ID_LENGTH, { optional: true }),
          curve: oneOf(['X25519', 'P-256'], { optional: true }),
          wire: oneOf(['json', 'structured-clone'], { optional: true }),
        }),
      },
    ],
    args: () => [
      {
        inputs: [Uint32Array.of(1, 2), Uint32Array.of(3, 4), Uint32Array.of(5, 6), Uint32Array.of(7, 8)],
        bits: 16,
        threshold: 3,
        minSurvivors: 3,
        dropBeforeShareKeys: [],
        dropBeforeMaskedInput: [],
        dropAfterMaskedInput: [3],
        roundId: 'r',
        curve: 'X25519',
        wire: 'structured-clone',
      },
    ],
    call: ([o]) => sa.simulateRound(o),
    observe: (r: sa.SimulateRoundResult) => ({ sum: r.sum, included: r.included }),
  },
];

const wireRows: Row[] = [
  {
    entry,
    export: 'encodeMessage',
    params: [{ name: 'message', domain: wireSetupDomain }],
    args: () => [fixedSetup()],
    call: ([m]) => sa.encodeMessage(m),
  },
  {
    entry,
    export: 'decodeMessage',
    aliases: MESSAGE_ALIASES,
    params: [
      { name: 'encoded', domain: union([str(), obj({ type: oneOf(['setup']), roundId: id, clients: arrayOf(id), bits: int(0), length: int(0), threshold: int(0), graphSeed: str(), curve })]) },
      { name: 'opts', domain: obj({ setup: { ...wireSetupDomain, optional: true }, maxChars: int(0, Number.MAX_SAFE_INTEGER, { optional: true }) }, { optional: true }) },
    ],
    args: () => [sa.encodeMessage(fixedSetup()), { setup: fixedSetup(), maxChars: 10_000 }],
    call: ([e, o]) => sa.decodeMessage(e, o),
  },
  {
    entry,
    export: 'encodeBinaryMessage',
    aliases: { message: ['message'], setup: ['setup'] },
    params: [
      { name: 'message', domain: wireSetupDomain },
      { name: 'setup', domain: { ...wireSetupDomain, optional: true } },
    ],
    args: () => [fixedSetup(), fixedSetup()],
    call: ([m, setup]) => sa.encodeBinaryMessage(m, setup),
  },
  {
    entry,
    export: 'decodeBinaryMessage',
    params: [
      { name: 'bytes', domain: typed('Uint8Array') },
      { name: 'options', domain: obj({ setup: { ...wireSetupDomain, optional: true } }, { optional: true }) },
    ],
    args: () => [sa.encodeBinaryMessage(fixedSetup()), { setup: fixedSetup() }],
    call: ([bytes, o]) => sa.decodeBinaryMessage(bytes, o),
  },
  {
    entry,
    export: 'signedBytes',
    setup: async () => (await (await TestRound.create({ n: 3 })).advertise())[0],
    stateOf: (m: sa.ClientMessage) => m,
    params: [{ name: 'message', domain: advertiseDomain }],
    args: (m: sa.ClientMessage) => [m],
    call: ([m]) => sa.signedBytes(m),
    random: 'each round advertises fresh keys',
  },
  {
    entry,
    export: 'signMessage',
    setup: async () => {
      const r = await TestRound.create({ n: 3 });
      const [message] = await r.advertise();
      return { message, key: r.signingKeys.get('c0')!.privateKey };
    },
    stateOf: ({ message }) => message,
    params: [{ name: 'message', domain: unsignedAdvertiseDomain }, { name: 'privateKey', domain: instance('CryptoKey') }],
    args: ({ message: { signature: _signature, ...unsigned }, key }) => [unsigned, key],
    call: async ([m, k]) => (await sa.signMessage(m, k)).signature.length,
    random: 'each round advertises fresh keys',
  },
  {
    entry,
    export: 'survivorsDigest',
    params: [{ name: 'roundId', domain: id }, { name: 'survivors', domain: arrayOf(id) }],
    args: () => ['round-1', ['a', 'b']],
    call: ([r, s]) => sa.survivorsDigest(r, s),
  },
  { entry, export: 'detectKeyAgreement', params: [], args: () => [], call: () => sa.detectKeyAgreement() },
  { entry, export: 'detectSigning', params: [], args: () => [], call: () => sa.detectSigning() },
  { entry, export: 'generateSigningKeyPair', params: [], args: () => [], call: async () => (await sa.generateSigningKeyPair()).publicKey.length },
  {
    entry,
    export: 'publicKeyProblem',
    params: [{ name: 'curve', domain: curve }, { name: 'raw', domain: opaque('publicKeyProblem answers what is wrong with any value (its result), it does not throw') }],
    args: () => ['X25519', seedBytes(9)],
    call: ([c, r]) => sa.publicKeyProblem(c, r),
  },
];

export const secaggRows: SweepRow[] = [...constants, ...maskRows, ...graphRows, ...shamirRows, ...quantizeRows, ...ddpRows, ...protocolRows, ...wireRows];
