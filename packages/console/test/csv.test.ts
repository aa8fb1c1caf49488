import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvCell, EVENT_COLUMNS, toCsv } from '../src/csv.js';
import { toConsoleEvent } from '../src/events.js';

/** A minimal RFC 4180 reader, to read back what toCsv writes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('csvCell', () => {
  it('keeps plain values as they are', () => {
    expect(csvCell('RunInstances')).toBe('RunInstances');
    expect(csvCell('')).toBe('');
  });

  it('quotes commas, quotes and line breaks', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(' padded ')).toBe('" padded "');
  });

  it('defuses formulas: =, +, -, @, tab and CR first become text', () => {
    expect(csvCell('=cmd|\' /C calc\'!A0')).toBe("'=cmd|' /C calc'!A0");
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
  });

  it('reads back as written for any text (fast-check), formulas prefixed', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 5 }), (rows) => {
        const text = rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
        const back = parseCsv(text);
        expect(back).toEqual(rows.map((r) => r.map((v) => (v.length && '=+-@\t\r'.includes(v[0]!) ? `'${v}` : v))));
      }),
    );
  });
});

describe('toCsv', () => {
  it('writes the header and one row per event with the CloudTrail columns', () => {
    const e = toConsoleEvent({
      EventId: 'id-1',
      EventName: '=cmd',
      EventTime: 1_765_000_000,
      Username: 'alice, bob',
      Resources: [{ ResourceType: 'AWS::S3::Bucket', ResourceName: 'b1' }],
      EventSource: 's3.amazonaws.com',
      AccessKeyId: 'AKIA1',
      CloudTrailEvent: JSON.stringify({ sourceIPAddress: '10.0.0.1', errorCode: 'AccessDenied', userAgent: '<script>x</script>' }),
    });
    const rows = parseCsv(toCsv([e]));
    expect(rows[0]).toEqual(EVENT_COLUMNS.map((c) => c.title));
    const byTitle = new Map(rows[0]!.map((t, i) => [t, rows[1]![i]]));
    expect(byTitle.get('Event name')).toBe("'=cmd");
    expect(byTitle.get('User name')).toBe('alice, bob');
    expect(byTitle.get('Event time')).toBe('2025-12-06T05:46:40.000Z');
    expect(byTitle.get('Source IP address')).toBe('10.0.0.1');
    expect(byTitle.get('Error code')).toBe('AccessDenied');
    expect(byTitle.get('Resource name')).toBe('b1');
    expect(byTitle.get('User agent')).toBe('<script>x</script>');
  });

  it('reads a CloudTrailEvent that is not JSON as empty, not as an error', () => {
    const e = toConsoleEvent({ EventId: 'x', CloudTrailEvent: '{not json', EventTime: 'garbage' });
    expect(e.sourceIp).toBe('');
    expect(toCsv([e]).split('\r\n')[1]!.startsWith(',')).toBe(true);
  });
});
