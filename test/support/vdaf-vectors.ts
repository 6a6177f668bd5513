// Runs the official test vectors of draft-irtf-cfrg-vdaf-20 (test/vectors/vdaf/): each file's
// operations in order (shard, verify_init per aggregator, verifier_shares_to_message, verify_next,
// aggregate, unshard), every message compared byte for byte; XofTurboShake128's derived seed and
// field expansion likewise. Used by test/prio/vectors.test.ts (wasm kernels) and
// test/prio/vectors-reference.test.ts (the plain-TS references, no ready()).
import { readFileSync, readdirSync } from 'node:fs';
import { expect } from 'vitest';
import {
  prio3Count,
  prio3HigherDegree,
  prio3Histogram,
  prio3MultihotCountVec,
  prio3Sum,
  prio3SumVec,
  prio3SumVecWithMultiproof,
  type Prio3,
  type Prio3VerifyState,
} from 'privkit/prio';
import { encodeVec, Field128 } from '../../dist/src/prio/field.js';
import { xofExpandWasm } from '../../dist/src/prio/kernels.js';
import { XofTurboShake128 } from '../../dist/src/prio/xof.js';

const DIR = new URL('../vectors/vdaf/', import.meta.url);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

interface Report {
  measurement: unknown;
  nonce: string;
  rand: string;
  public_share: string;
  input_shares: string[];
  verifier_shares: string[][];
  verifier_messages: string[];
  out_shares: string[];
}
interface Operation {
  operation: string;
  report_index?: number;
  aggregator_id?: number;
  round?: number;
  success: boolean;
}
interface VectorFile {
  ctx: string;
  verify_key: string;
  shares: number;
  reports: Report[];
  agg_shares: string[];
  agg_result: unknown;
  operations: Operation[];
  length?: number;
  chunk_length?: number;
  max_measurement?: number;
  max_weight?: number;
}

type AnyPrio3 = Prio3<unknown, unknown>;

/** The VDAF a vector file describes (the draft's test-only SumVecWithMultiproof uses 3 proofs). */
function vdafFor(kind: string, d: VectorFile): AnyPrio3 {
  const shares = d.shares;
  const vdaf = {
    Prio3Count: () => prio3Count({ shares }),
    Prio3Sum: () => prio3Sum({ max: d.max_measurement!, shares }),
    Prio3SumVec: () => prio3SumVec({ length: d.length!, max: d.max_measurement!, chunkLength: d.chunk_length!, shares }),
    Prio3SumVecWithMultiproof: () => prio3SumVecWithMultiproof({ length: d.length!, max: d.max_measurement!, chunkLength: d.chunk_length!, shares, proofs: 3 }),
    Prio3Histogram: () => prio3Histogram({ length: d.length!, chunkLength: d.chunk_length!, shares }),
    Prio3MultihotCountVec: () => prio3MultihotCountVec({ length: d.length!, maxWeight: d.max_weight!, chunkLength: d.chunk_length!, shares }),
    Prio3HigherDegree: () => prio3HigherDegree({ shares }),
  }[kind];
  if (vdaf === undefined) throw new Error(`no VDAF for ${kind}`);
  return vdaf() as unknown as AnyPrio3;
}

export const VECTOR_FILES = readdirSync(DIR).filter((f) => f.startsWith('Prio3') && f.endsWith('.json')).sort();

/** XofTurboShake128's vector: derived seed, expansion into Field128 (reference, and wasm when loaded). */
export function checkXofVector(wasm: boolean): void {
  const v = JSON.parse(readFileSync(new URL('XofTurboShake128.json', DIR), 'utf8')) as Record<string, string | number>;
  const [seed, dst, binder] = [unhex(v.seed as string), unhex(v.dst as string), unhex(v.binder as string)];
  expect(hex(XofTurboShake128.deriveSeed(seed, dst, binder))).toBe(v.derived_seed);
  const vec = XofTurboShake128.expandIntoVec(Field128, seed, dst, binder, v.length as number);
  expect(hex(encodeVec(Field128, vec))).toBe(v.expanded_vec_field128);
  if (wasm) expect(hex(encodeVec(Field128, xofExpandWasm(Field128, seed, dst, binder, v.length as number)))).toBe(v.expanded_vec_field128);
}

/** Runs one Prio3 vector file's operations, comparing every message byte for byte. */
export function runVectorFile(file: string): void {
  const d = JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as VectorFile;
  const vdaf = vdafFor(file.replace(/_\d+\.json$/, ''), d);
  const ctx = unhex(d.ctx);
  const verifyKey = unhex(d.verify_key);
  const states = new Map<string, Prio3VerifyState>();
  const verifierShares = new Map<string, Uint8Array>();
  const messages = new Map<number, Uint8Array>();
  const outShares = new Map<string, Uint8Array>();
  const aggregators = Array.from({ length: d.shares }, () => vdaf.aggregator());
  const aggShares: Uint8Array[] = [];
  expect(d.operations.every((op) => op.success)).toBe(true);
  for (const op of d.operations) {
    const r = op.report_index ?? -1;
    const report = d.reports[r]!;
    const key = `${r}/${op.aggregator_id}`;
    switch (op.operation) {
      case 'shard': {
        const out = vdaf.shard(report.measurement, { ctx, nonce: unhex(report.nonce), rand: unhex(report.rand) });
        expect(hex(out.nonce)).toBe(report.nonce);
        expect(hex(out.publicShare)).toBe(report.public_share);
        expect(out.inputShares.map(hex)).toEqual(report.input_shares);
        break;
      }
      case 'verify_init': {
        const j = op.aggregator_id!;
        const init = vdaf.verifyInit({
          verifyKey,
          ctx,
          aggregatorId: j,
          nonce: unhex(report.nonce),
          publicShare: unhex(report.public_share),
          inputShare: unhex(report.input_shares[j]!),
        });
        expect(hex(init.verifierShare)).toBe(report.verifier_shares[0]![j]);
        states.set(key, init.state);
        verifierShares.set(key, init.verifierShare);
        break;
      }
      case 'verifier_shares_to_message': {
        const shares = Array.from({ length: d.shares }, (_, j) => verifierShares.get(`${r}/${j}`)!);
        const message = vdaf.verifierSharesToMessage(shares, { ctx });
        expect(hex(message)).toBe(report.verifier_messages[op.round!]);
        messages.set(r, message);
        break;
      }
      case 'verify_next': {
        const out = vdaf.verifyNext(states.get(key)!, unhex(report.verifier_messages[op.round! - 1]!));
        expect(hex(out)).toBe(report.out_shares[op.aggregator_id!]);
        outShares.set(key, out);
        break;
      }
      case 'aggregate': {
        const j = op.aggregator_id!;
        // The draft's vectors reuse one nonce for every report; the aggregator refuses a replayed
        // nonce, so each report is added under its index (aggregation does not read the nonce).
        d.reports.forEach((_, i) => aggregators[j]!.add(new Uint8Array(16).fill(i + 1), outShares.get(`${i}/${j}`)!));
        aggShares[j] = aggregators[j]!.share();
        expect(hex(aggShares[j])).toBe(d.agg_shares[j]);
        break;
      }
      case 'unshard': {
        const result = vdaf.unshard(d.agg_shares.map(unhex), d.reports.length);
        expect(result).toEqual(d.agg_result);
        break;
      }
      default:
        throw new Error(`unknown operation ${op.operation}`);
    }
  }
  expect(outShares.size).toBe(d.reports.length * d.shares);
}
