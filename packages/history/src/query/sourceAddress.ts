import { isIP } from 'node:net';
import { HistoryQueryError } from './errors.js';

/**
 * The combined query's source-address filter: one address (matched exactly against
 * sourceIPAddress, which may also be a service name such as `s3.amazonaws.com`) or a CIDR block
 * (inet containment). Parsed with node's own address parser, never handed to PostgreSQL unchecked.
 */
export type SourceAddress = { kind: 'exact'; value: string } | { kind: 'cidr'; value: string };

export function parseSourceAddress(value: string): SourceAddress {
  const slash = value.indexOf('/');
  if (slash < 0) {
    if (value.length === 0 || value.length > 253) throw new HistoryQueryError('InvalidParameterException', 'SourceIPAddress must be an IP address, a CIDR block or a service name');
    return { kind: 'exact', value };
  }
  const address = value.slice(0, slash);
  const prefix = value.slice(slash + 1);
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    throw new HistoryQueryError('InvalidParameterException', `SourceIPAddress ${JSON.stringify(value.slice(0, 100))} is not a valid CIDR block`);
  }
  return { kind: 'cidr', value: `${address}/${Number(prefix)}` };
}

/*
 * sourceIPAddress is text (a service name is a legal value), and casting text that is no address to
 * inet raises an error. These POSIX patterns accept only strings PostgreSQL's inet input accepts
 * (dotted-quad IPv4; IPv6 in its full and `::`-compressed forms), so the cast sits behind them in a
 * CASE and never sees anything else. Anything they reject cannot be in a CIDR block anyway. They
 * hold no backslash (`[.]`, not `\\.`), so they mean the same whatever standard_conforming_strings
 * says, and they are valid JavaScript regexes too (isAddress).
 */
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
export const IPV4_PATTERN = `^${OCTET}([.]${OCTET}){3}$`;
const H = '[0-9A-Fa-f]{1,4}';
export const IPV6_PATTERN =
  '^(' +
  [
    `(${H}:){7}${H}`,
    `(${H}:){1,7}:`,
    `(${H}:){1,6}:${H}`,
    `(${H}:){1,5}(:${H}){1,2}`,
    `(${H}:){1,4}(:${H}){1,3}`,
    `(${H}:){1,3}(:${H}){1,4}`,
    `(${H}:){1,2}(:${H}){1,5}`,
    `${H}:(:${H}){1,6}`,
    `:((:${H}){1,7}|:)`,
  ].join('|') +
  ')$';

/**
 * The address a sourceIPAddress names, as inet, else NULL: the expression of the
 * events_region_source_inet index (migrations/002_lean_indexes.sql), which a query must repeat
 * exactly for the planner to use the index. The patterns are constants of this file, not input.
 */
export const SOURCE_INET_EXPRESSION = `(CASE WHEN e.source_ip ~ '${IPV4_PATTERN}' OR e.source_ip ~ '${IPV6_PATTERN}' THEN e.source_ip::inet END)`;

const IPV4 = new RegExp(IPV4_PATTERN);
const IPV6 = new RegExp(IPV6_PATTERN);

/** Whether a sourceIPAddress value is an address the index holds (as the SQL patterns decide). */
export const isAddress = (value: string): boolean => IPV4.test(value) || IPV6.test(value);
