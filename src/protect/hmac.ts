// HMAC-SHA-256 of keyed pseudonyms in wasm (assembly/protect/hmac.ts), many values per call: the
// key's padded inner and outer states are computed once per key (hmacKeyStates), then every batch of
// values is packed as UTF-8 into a staging window and signed in one kernel call (hmacTokens). A value
// longer than the window is streamed through it in 64-byte blocks.
// No secret stays in wasm memory after a call: the key, its states, the values, the intermediate
// hashes and the tags are all in secret arena regions, zeroed when the call's scope closes (also on
// failure). The states themselves are returned to the caller, who keeps them as the key (they sign
// exactly as the key does).
import { copyIn, currentLength, packStrings, WINDOW_BYTES } from '../wasm/boundary.js';
import { withWasm } from '../wasm/runtime.js';
import { protectWasm } from './wasm.js';

/** Bytes of a key's states: the inner and the outer SHA-256 state after the padded key block. */
export const KEY_STATE_BYTES = 64;
/** Most values signed per kernel call (bounds the offsets and tags staged with a window). */
const BATCH = 1 << 15;
const encoder = new TextEncoder();

/**
 * The inner and outer states of HMAC-SHA-256 under `key` (RFC 2104; a key longer than 64 bytes is
 * hashed first), as KEY_STATE_BYTES opaque bytes for {@link hmacTokens}. Needs the protect module loaded.
 */
export function hmacKeyStates(key: Uint8Array, name = 'key'): Uint8Array {
  const length = currentLength(key);
  return withWasm(protectWasm, (kernels, arena) => {
    const keyAt = arena.allocSecret(length);
    copyIn(arena.bytes(keyAt, length), key, 0, name);
    const work = arena.allocSecret(kernels.hmacWorkBytes());
    const states = arena.allocSecret(KEY_STATE_BYTES);
    kernels.hmacKeyStates(keyAt, length, work, states);
    return arena.bytes(states, KEY_STATE_BYTES).slice();
  });
}

/**
 * HMAC-SHA-256 of the UTF-8 of each text under the key whose states are `keyStates`, each tag
 * truncated to its first `tokenBytes` bytes (1 to 32), concatenated in the order of `texts`.
 */
export function hmacTokens(keyStates: Uint8Array, texts: readonly string[], tokenBytes: number): Uint8Array {
  const tags = new Uint8Array(texts.length * tokenBytes);
  if (texts.length === 0) return tags;
  let utf8Bound = 0; // UTF-8 takes at most 3 bytes per UTF-16 code unit
  for (const text of texts) utf8Bound += 3 * text.length;
  const windowBytes = Math.max(64, Math.min(WINDOW_BYTES, utf8Bound));
  const batch = Math.min(BATCH, texts.length);
  withWasm(protectWasm, (kernels, arena) => {
    const states = arena.allocSecret(KEY_STATE_BYTES);
    arena.bytes(states, KEY_STATE_BYTES).set(keyStates);
    const work = arena.allocSecret(kernels.hmacWorkBytes());
    const data = arena.allocSecret(windowBytes);
    const offsets = arena.allocSecret(4 * (batch + 1));
    const out = arena.allocSecret(batch * tokenBytes);
    for (let first = 0; first < texts.length; ) {
      const count = packStrings(texts, first, arena.bytes(data, windowBytes), arena.u32(offsets, batch + 1));
      if (count > 0) kernels.hmacTokens(states, work, data, offsets, count, out, tokenBytes);
      else signLong(encoder.encode(texts[first]!));
      tags.set(arena.bytes(out, Math.max(count, 1) * tokenBytes), first * tokenBytes);
      first += Math.max(count, 1);
    }

    /** Streams a message longer than the window through it: whole blocks, then the tail and the outer hash. */
    function signLong(message: Uint8Array): void {
      const chunk = windowBytes - (windowBytes % 64);
      const full = message.length - (message.length % 64);
      kernels.hmacStart(states, work);
      for (let at = 0; at < full; at += chunk) {
        const bytes = Math.min(chunk, full - at);
        arena.bytes(data, bytes).set(message.subarray(at, at + bytes));
        kernels.hmacAbsorb(work, data, bytes / 64);
      }
      arena.bytes(data, message.length - full).set(message.subarray(full));
      kernels.hmacFinish(states, work, data, message.length - full, message.length, out, tokenBytes);
    }
  });
  return tags;
}

/** SHA-256 of `bytes` (FIPS 180-4), by the same kernel: for the published test vectors. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return withWasm(protectWasm, (kernels, arena) => {
    const data = arena.allocSecret(bytes.length);
    arena.bytes(data, bytes.length).set(bytes);
    const work = arena.allocSecret(kernels.hmacWorkBytes());
    const out = arena.allocSecret(32);
    kernels.sha256(data, bytes.length, work, out);
    return arena.bytes(out, 32).slice();
  });
}
