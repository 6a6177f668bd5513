// Test helper: splits a container into its parts by docs/FORMAT.md (header, chunks, signature) and joins parts back.
export interface Layout {
  header: Uint8Array; // magic, version, length and JSON
  json: Record<string, unknown> & { chunkSize: number; signer: unknown; recipients: Record<string, unknown>[] };
  chunks: Uint8Array[];
  signature: Uint8Array | undefined;
}

export function split(container: Uint8Array): Layout {
  const length = new DataView(container.buffer, container.byteOffset + 9, 4).getUint32(0);
  const header = container.slice(0, 13 + length);
  const json = JSON.parse(new TextDecoder().decode(header.subarray(13)));
  const end = container.length - (json.signer === null ? 0 : 64);
  const chunks: Uint8Array[] = [];
  for (let at = header.length; at < end; at += json.chunkSize + 16) chunks.push(container.slice(at, Math.min(end, at + json.chunkSize + 16)));
  return { header, json, chunks, signature: json.signer === null ? undefined : container.slice(end) };
}

export function join(header: Uint8Array, chunks: readonly Uint8Array[], signature?: Uint8Array): Uint8Array {
  const parts = [header, ...chunks, ...(signature ? [signature] : [])];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A header with its JSON replaced (the length field updated). */
export function withJson(json: unknown): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(json));
  const header = new Uint8Array(13 + text.length);
  header.set([0x89, 0x50, 0x4b, 0x43, 0x0d, 0x0a, 0x1a, 0x0a, 1]);
  new DataView(header.buffer).setUint32(9, text.length);
  header.set(text, 13);
  return header;
}
