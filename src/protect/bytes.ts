// Byte helpers of privkit/protect: big-endian integers, concatenation, constant-time comparison,
// zeroing, SHA-256 and a growable byte queue that hands out exact-length slices of a byte stream
// (without copying when the slice lies inside one pushed buffer).
import { PrivkitError } from '../errors.js';

export const utf8 = new TextEncoder();
export const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `value` as `bytes` big-endian bytes (value < 2^53). */
export function bigEndian(value: number, bytes: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  let v = value;
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export function readBigEndian(bytes: Uint8Array, start: number, length: number): number {
  let v = 0;
  for (let i = start; i < start + length; i++) v = v * 256 + bytes[i]!;
  return v;
}

/** Equality of two byte strings in time depending only on their lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Overwrites secret bytes we own (a key, a shared secret, an encoded passphrase). */
export function wipe(...buffers: Uint8Array[]): void {
  for (const b of buffers) b.fill(0);
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(length));
}

export async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** A copy of `bytes` in its own ArrayBuffer (WebCrypto refuses views of shared buffers in some runtimes). */
export function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** A FIFO of bytes pushed in pieces; `take(n)` returns the next n bytes (a view when they lie in one piece). */
export class ByteQueue {
  private pieces: Uint8Array[] = [];
  private head = 0; // bytes of pieces[0] already taken
  length = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pieces.push(bytes);
    this.length += bytes.length;
  }

  take(n: number): Uint8Array {
    if (n > this.length) throw new PrivkitError('E_ARG', `internal: take(${n}) of ${this.length} queued bytes`);
    this.length -= n;
    const first = this.pieces[0];
    if (first !== undefined && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const piece = this.pieces[0]!;
      const count = Math.min(n - o, piece.length - this.head);
      out.set(piece.subarray(this.head, this.head + count), o);
      o += count;
      this.advance(count);
    }
    return out;
  }

  private advance(count: number): void {
    this.head += count;
    if (this.head === this.pieces[0]!.length) {
      this.pieces.shift();
      this.head = 0;
    }
  }
}
