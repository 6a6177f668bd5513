// The per-peer rate limit of privkit/server's HTTP endpoints (src/server/status.ts) against a peer that
// rotates its source address: an IPv6 host holds a whole /64 and can send each request from a new address
// in it (before the fix each found a fresh bucket: 50 requests from one /64 were all served at a limit of 5).
// A real-socket flood from many IPv6 addresses needs addresses the test machine does not have, so the
// limiter is driven with the addresses a socket would report.
import { describe, expect, it } from 'vitest';
import { AddressRateLimiter, rateLimitKey } from '../../dist/src/server/status.js';

describe('the HTTP rate limit per peer', () => {
  it('keys IPv4 peers by address (also mapped into IPv6 by a dual-stack socket) and IPv6 peers by their /64', () => {
    expect(rateLimitKey('192.0.2.7')).toBe('192.0.2.7');
    expect(rateLimitKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(rateLimitKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    // two IPv4 peers seen through a dual-stack socket are two peers (a naive /64 of ::ffff:a.b.c.d would lump every IPv4 peer together)
    expect(rateLimitKey('::ffff:192.0.2.8')).not.toBe(rateLimitKey('::ffff:192.0.2.7'));
    expect(rateLimitKey('2001:db8:a:b:1:2:3:4')).toBe('2001:db8:a:b::/64');
    expect(rateLimitKey('2001:db8:a:b::99')).toBe('2001:db8:a:b::/64');
    expect(rateLimitKey('2001:0db8:000a:000b:ffff::1')).toBe('2001:db8:a:b::/64');
    expect(rateLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(rateLimitKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(rateLimitKey('fe80::1%eth0')).toBe(rateLimitKey('fe80::2%eth1'));
    expect(rateLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(rateLimitKey('::192.0.2.1')).toBe('0:0:0:0::/64');
  });

  it('a peer rotating through the addresses of its /64 shares one bucket: 429 after the burst, while another /64 and another IPv4 peer are served', () => {
    const limiter = new AddressRateLimiter(5);
    const hex = (i: number) => i.toString(16);
    const waits = Array.from({ length: 50 }, (_, i) => limiter.take(`2001:db8:a:b:${hex(i)}:${hex(7 * i)}:${hex(i + 3)}:1`));
    // the bucket of 5, and at most one more refilled while the loop runs (it runs in well under 200 ms)
    expect(waits.filter((w) => w === 0).length).toBeGreaterThanOrEqual(5);
    expect(waits.filter((w) => w === 0).length).toBeLessThanOrEqual(6);
    expect(waits.filter((w) => w > 0).every((w) => w >= 1)).toBe(true);
    expect(limiter.take('2001:db8:a:c::1')).toBe(0);
    expect(limiter.take('::ffff:198.51.100.1')).toBe(0);
    // an IPv4 peer is one bucket whichever way the socket shows it
    for (let i = 0; i < 5; i++) limiter.take(i % 2 === 0 ? '203.0.113.9' : '::ffff:203.0.113.9');
    expect(limiter.take('203.0.113.9')).toBeGreaterThan(0);
  });
});
