import ipaddr from 'ipaddr.js';
import type { AppConfig } from '../config/config.schema.js';

/**
 * Decides whether an IP address may be contacted. Returns `null` when it may, otherwise a short
 * reason ("loopback", "linkLocal", ...) that ends up in the URL_FORBIDDEN error.
 */
export type AddressPolicy = (address: string) => string | null;

/** IPv6 ranges whose addresses carry an IPv4 address that is what really gets reached. */
function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4 | null {
  const range = addr.range();
  const b = addr.toByteArray();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052') {
    // ::ffff:a.b.c.d, ::ffff:0:a.b.c.d and the NAT64 prefix 64:ff9b::/96 keep the IPv4 address in the last 32 bits.
    return new ipaddr.IPv4(b.slice(12, 16));
  }
  if (range === '6to4') return new ipaddr.IPv4(b.slice(2, 6)); // 2002:AABB:CCDD::/48
  return null;
}

/**
 * The range an address falls in when it is not a public unicast address, else `null`.
 *
 * Only ipaddr.js's `unicast` (what is left after every special-purpose range) is public: loopback,
 * RFC 1918 private, link-local (169.254/16 holds the cloud metadata services), CGNAT 100.64/10
 * (Alibaba's metadata service lives there), unique-local fc00::/7 (AWS's IPv6 metadata), multicast,
 * reserved and documentation ranges are all refused. IPv6 forms that embed an IPv4 address
 * (mapped, NAT64, 6to4) are judged by that IPv4 address; Teredo, whose embedded address is
 * obfuscated, and the deprecated IPv4-compatible ::/96 form are refused outright.
 */
export function forbiddenRange(address: string): string | null {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(address.replace(/^\[|\]$/g, ''));
  } catch {
    return 'invalid address';
  }
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    const inner = embeddedIPv4(v6);
    if (inner) {
      const r = inner.range();
      return r === 'unicast' ? null : `${r} (embedded in ${v6.range()})`;
    }
    const r = v6.range();
    if (r !== 'unicast') return r;
    // ::a.b.c.d (IPv4-compatible, deprecated by RFC 4291) reads as plain unicast to ipaddr.js.
    return v6.parts.slice(0, 6).every((p) => p === 0) ? 'ipv4Compatible' : null;
  }
  const r = (addr as ipaddr.IPv4).range();
  return r === 'unicast' ? null : r;
}

/** The policy the configuration asks for: everything when `network.allowPrivate`, else public unicast only. */
export function addressPolicyFor(config: AppConfig): AddressPolicy {
  if (config.network.allowPrivate) return (address) => (ipaddr.isValid(address.replace(/^\[|\]$/g, '')) ? null : 'invalid address');
  return forbiddenRange;
}
