// Which peers privkit/server and privkit/client may talk to without TLS. A bearer token (and the hello
// that carries it) sent over ws:// can be read by anyone on the network path: with it a network attacker
// authenticates as the client (and, before the client enrols, binds its own signing key to the client's
// identity in a secure-aggregation task). Loopback traffic never leaves the machine, so ws:// is safe
// there; anywhere else the client refuses ws:// and the server refuses plain connections, unless the
// application opts out (allowInsecureTransport) for a network it trusts.

/**
 * Whether a host name or address names the local machine without asking anyone: the name 'localhost'
 * itself, 127.0.0.0/8, ::1, and those IPv4 addresses mapped into IPv6 (::ffff:127.x.y.z, also in hex).
 * Accepts the bracketed IPv6 form of a URL's hostname. Names that only ought to be local are not: Node
 * resolves 'localhost.' (the absolute name) and names under '.localhost' (RFC 6761) through DNS, whose
 * answer a network attacker can forge to draw the connection, and the token, to itself.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  if (/^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(name)) return true; // ::ffff:127.x.y.z as a URL writes it
  return /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
