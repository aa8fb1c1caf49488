import { BlockList, isIP } from 'node:net';

/** GeoLocation.classification values (schemas/enriched-event.avsc). */
export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'reserved' | 'aws-service' | 'aws-internal' | 'hostname' | 'invalid';

export interface ClassifiedAddress {
  classification: AddressClass;
  /** The address to look up (IPv4-mapped IPv6 unwrapped, zone and brackets removed), for IP addresses. */
  address?: string;
  family?: 4 | 6;
}

function blockList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [net, prefix] = range.split('/') as [string, string];
    list.addSubnet(net, Number(prefix), isIP(net) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Special-purpose ranges (IANA IPv4/IPv6 Special-Purpose Address Registries, RFC 6890 and successors), by class. */
const RANGES: readonly (readonly [AddressClass, BlockList])[] = [
  ['loopback', blockList(['127.0.0.0/8', '::1/128'])],
  // 100.64/10 (carrier-grade NAT) is not routable on the internet either: it says as little as 10/8.
  ['private', blockList(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'])],
  ['link-local', blockList(['169.254.0.0/16', 'fe80::/10'])],
  [
    'reserved',
    blockList([
      '0.0.0.0/8', // "this network"
      '192.0.0.0/24', // IETF protocol assignments
      '192.0.2.0/24', // TEST-NET-1 (documentation)
      '198.18.0.0/15', // benchmarking
      '198.51.100.0/24', // TEST-NET-2
      '203.0.113.0/24', // TEST-NET-3
      '224.0.0.0/4', // multicast
      '240.0.0.0/4', // reserved, and the limited broadcast address
      '::/128', // unspecified
      '100::/64', // discard-only
      '2001:2::/48', // benchmarking
      '2001:db8::/32', // documentation
      '3fff::/20', // documentation (RFC 9637)
      'fec0::/10', // deprecated site-local
      'ff00::/8', // multicast
    ]),
  ],
];

/** Labels of at least two, the last not all digits (so that a malformed dotted quad is not a hostname). */
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
/** AWS service principals recorded instead of an address when a service calls on a user's behalf (ec2.amazonaws.com). */
const AWS_SERVICE = /\.amazonaws\.com(?:\.cn)?$/i;
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * What a recorded sourceIPAddress is. CloudTrail records an address (IPv4 or IPv6), an AWS service
 * name (`ec2.amazonaws.com`) or `AWS Internal`; producers may record anything else. Only public
 * addresses are looked up in the geo databases.
 */
export function classifySourceAddress(value: string): ClassifiedAddress {
  let text = value.trim();
  if (text === '') return { classification: 'invalid' };
  if (text.toLowerCase() === 'aws internal') return { classification: 'aws-internal' };
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone > 0) text = text.slice(0, zone);
  let family = isIP(text);
  if (family === 6) {
    const mapped = IPV4_MAPPED.exec(text);
    if (mapped && isIP(mapped[1]!) === 4) {
      text = mapped[1]!;
      family = 4;
    }
  }
  if (family === 4 || family === 6) {
    const type = family === 4 ? 'ipv4' : 'ipv6';
    for (const [classification, list] of RANGES) {
      if (list.check(text, type)) return { classification, address: text, family };
    }
    return { classification: 'public', address: text, family };
  }
  if (HOSTNAME.test(text)) return { classification: AWS_SERVICE.test(text) ? 'aws-service' : 'hostname' };
  return { classification: 'invalid' };
}
