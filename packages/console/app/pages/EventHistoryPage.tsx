import { LookupEventsCommand, type LookupAttributeKey, type LookupEventsCommandOutput } from '@aws-sdk/client-cloudtrail';
import { Button, Checkbox, Collapse, Group, Popover, SegmentedControl, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { EVENT_COLUMNS, toCsv } from '../../src/csv';
import { toConsoleEvent, type ConsoleEvent } from '../../src/events';
import { parseTimeRange } from '../../src/timeRange';
import { errorText, type ApiClient } from '../api';
import { download } from '../download';
import { EventDetail } from '../EventDetail';
import { EventTable } from '../EventTable';
import { ErrorAlert } from '../request';

/** LookupEvents' attributes (cloudtrail-spec.md §5.1), one at a time as CloudTrail allows. */
const ATTRIBUTES: { value: LookupAttributeKey; label: string }[] = [
  { value: 'EventId', label: 'Event ID' },
  { value: 'EventName', label: 'Event name' },
  { value: 'ReadOnly', label: 'Read-only' },
  { value: 'Username', label: 'User name' },
  { value: 'ResourceType', label: 'Resource type' },
  { value: 'ResourceName', label: 'Resource name' },
  { value: 'EventSource', label: 'Event source' },
  { value: 'AccessKeyId', label: 'AWS access key' },
];

/** QueryEvents' text filters (services/api/README.md), all of which must hold. */
const FILTERS = [
  { key: 'Username', label: 'User name' },
  { key: 'EventName', label: 'Event name' },
  { key: 'EventSource', label: 'Event source' },
  { key: 'ResourceName', label: 'Resource name' },
  { key: 'ResourceType', label: 'Resource type' },
  { key: 'AccessKeyId', label: 'AWS access key' },
  { key: 'SourceIPAddress', label: 'Source IP or CIDR' },
  { key: 'ErrorCode', label: 'Error code' },
  { key: 'EventId', label: 'Event ID' },
  { key: 'AccountId', label: 'Account ID' },
  { key: 'Region', label: 'Region' },
] as const;
type FilterKey = (typeof FILTERS)[number]['key'];

/** The current result as a JSON array of the CloudTrail records (the `Records` of a log file). */
function eventsJson(events: ConsoleEvent[]): string {
  const records = events.map((e) => {
    try {
      return JSON.parse(e.cloudTrailEvent) as unknown;
    } catch {
      return e.cloudTrailEvent;
    }
  });
  return JSON.stringify({ Records: records }, null, 2);
}

const RELATIVE = ['15m', '1h', '3h', '12h', '1d', '7d', '30d', '90d'];

/** What one search asks: fixed when the user presses Search, so that paging walks the same query. */
interface Query {
  kind: 'lookup' | 'query';
  input: Record<string, unknown>;
}

interface PageState {
  /** tokens[i]: the NextToken that fetched page i (page 0: none). */
  tokens: (string | undefined)[];
  index: number;
  events: ConsoleEvent[];
  nextToken?: string;
}

export function EventHistoryPage({ client, params }: { client: ApiClient; params: URLSearchParams }) {
  const initialAttribute = ATTRIBUTES.find((a) => params.has(a.value));
  const [rangeKind, setRangeKind] = useState<'relative' | 'absolute'>('relative');
  const [relative, setRelative] = useState('7d');
  const [customRelative, setCustomRelative] = useState('');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [attribute, setAttribute] = useState<LookupAttributeKey | null>(initialAttribute?.value ?? null);
  const [value, setValue] = useState(initialAttribute ? (params.get(initialAttribute.value) ?? '') : '');
  const [advanced, setAdvanced] = useState(false);
  const [filters, setFilters] = useState<Partial<Record<FilterKey, string>>>({});
  const [accessDenied, setAccessDenied] = useState(false);
  const [insights, setInsights] = useState(false);
  const [readOnly, setReadOnly] = useState<string | null>('any');
  const [pageSize, setPageSize] = useState<string | null>('50');
  const [visible, setVisible] = useState<string[]>(EVENT_COLUMNS.filter((c) => c.default).map((c) => c.key));
  const [query, setQuery] = useState<Query>();
  const [page, setPage] = useState<PageState>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<ConsoleEvent>();

  const columns = useMemo(() => EVENT_COLUMNS.filter((c) => visible.includes(c.key)), [visible]);

  const buildQuery = (attribute: LookupAttributeKey | null, value: string): Query | string => {
    const range = parseTimeRange(rangeKind === 'relative' ? { kind: 'relative', value: customRelative.trim() || relative } : { kind: 'absolute', start, end });
    if (!range.ok) return range.error;
    const times = { ...(range.start ? { StartTime: Math.floor(range.start.getTime() / 1000) } : {}), ...(range.end ? { EndTime: Math.ceil(range.end.getTime() / 1000) } : {}) };
    const MaxResults = Number(pageSize ?? '50');
    // CloudTrail Insights events instead of the management events (LookupEvents' EventCategory).
    const category = insights ? { EventCategory: 'insight' } : {};
    const combined = new Map<string, unknown>();
    for (const f of FILTERS) {
      const v = filters[f.key]?.trim();
      if (v) combined.set(f.key, v);
    }
    if (accessDenied) combined.set('AccessDenied', true);
    if (readOnly === 'true' || readOnly === 'false') combined.set('ReadOnly', readOnly === 'true');
    if (combined.size === 0) {
      const v = value.trim();
      return { kind: 'lookup', input: { ...times, ...category, MaxResults, ...(attribute && v ? { LookupAttributes: [{ AttributeKey: attribute, AttributeValue: v }] } : {}) } };
    }
    // The lookup attribute joins the combined filters (QueryEvents has a member for each).
    if (attribute && value.trim()) {
      if (attribute === 'ReadOnly') combined.set('ReadOnly', value.trim() === 'true');
      else if (!combined.has(attribute)) combined.set(attribute, value.trim());
    }
    return { kind: 'query', input: { ...times, ...category, MaxResults, ...Object.fromEntries(combined) } };
  };

  const fetchPage = useCallback(
    async (q: Query, tokens: (string | undefined)[], index: number) => {
      setBusy(true);
      setError(undefined);
      try {
        const token = tokens[index];
        const input: Record<string, unknown> = { ...q.input, ...(token ? { NextToken: token } : {}) };
        let events: ConsoleEvent[];
        let nextToken: string | undefined;
        if (q.kind === 'lookup') {
          const out = await client.send<LookupEventsCommandOutput>(new LookupEventsCommand({ ...input, ...(typeof input.StartTime === 'number' ? { StartTime: new Date(input.StartTime * 1000) } : {}), ...(typeof input.EndTime === 'number' ? { EndTime: new Date(input.EndTime * 1000) } : {}) }));
          events = (out.Events ?? []).map((e) => toConsoleEvent(e as Record<string, unknown>));
          nextToken = out.NextToken;
        } else {
          const out = await client.opentrail<{ Events?: Record<string, unknown>[]; NextToken?: string }>('QueryEvents', input);
          events = (out.Events ?? []).map(toConsoleEvent);
          nextToken = out.NextToken;
        }
        setPage({ tokens: nextToken ? [...tokens.slice(0, index + 1), nextToken] : tokens.slice(0, index + 1), index, events, ...(nextToken ? { nextToken } : {}) });
      } catch (err) {
        setError(errorText(err));
      } finally {
        setBusy(false);
      }
    },
    [client],
  );

  const search = (attr = attribute, val = value) => {
    const q = buildQuery(attr, val);
    if (typeof q === 'string') return setError(q);
    setQuery(q);
    void fetchPage(q, [undefined], 0);
  };

  // A link into the history (an alert's event, a resource's change) searches at once.
  useEffect(() => {
    if (!initialAttribute) return;
    const v = params.get(initialAttribute.value) ?? '';
    setAttribute(initialAttribute.value);
    setValue(v);
    search(initialAttribute.value, v);
  }, [params.toString()]);

  const setFilter = (key: FilterKey, v: string) => setFilters((f) => ({ ...f, [key]: v }));
  const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

  return (
    <Stack>
      <Title order={2}>Event history</Title>
      <Group align="flex-end" wrap="wrap">
        <SegmentedControl
          value={rangeKind}
          onChange={(v) => setRangeKind(v)}
          data={[
            { value: 'relative', label: 'Relative range' },
            { value: 'absolute', label: 'Absolute range' },
          ]}
        />
        {rangeKind === 'relative' ? (
          <>
            <Select label="Last" data={RELATIVE} value={relative} onChange={(v) => setRelative(v ?? '7d')} w={100} allowDeselect={false} />
            <TextInput label="or custom (e.g. 45m, 2w)" value={customRelative} onChange={(e) => setCustomRelative(e.currentTarget.value)} w={170} name="customRange" />
          </>
        ) : (
          <>
            <TextInput label="Start (UTC unless a zone is given)" placeholder="2026-12-01T09:00Z" value={start} onChange={(e) => setStart(e.currentTarget.value)} name="start" />
            <TextInput label="End" placeholder="2026-12-01T10:00Z" value={end} onChange={(e) => setEnd(e.currentTarget.value)} name="end" />
          </>
        )}
      </Group>
      <Group align="flex-end" wrap="wrap">
        <Select label="Lookup attribute" placeholder="(none)" data={ATTRIBUTES} value={attribute} onChange={(v) => setAttribute(v)} clearable clearButtonProps={{ 'aria-label': 'Clear lookup attribute' }} w={200} data-testid="attribute" />
        <TextInput label="Value" value={value} onChange={(e) => setValue(e.currentTarget.value)} name="attributeValue" w={260} />
 <Checkbox mb="xs" label="Insights events" checked={insights} onChange={(e) => setInsights(e.currentTarget.checked)} name="insights" />
        <Select label="Page size" data={['10', '25', '50']} value={pageSize} onChange={setPageSize} w={90} allowDeselect={false} />
        <Button onClick={() => search()} loading={busy} data-testid="search">
          Search
        </Button>
        <Button
          variant="default"
          onClick={() => {
            setAttribute(null);
            setValue('');
            setFilters({});
            setAccessDenied(false);
            setInsights(false);
            setReadOnly('any');
          }}
          data-testid="clear-filters"
        >
          Clear filters
        </Button>
        <Button variant="subtle" onClick={() => setAdvanced((a) => !a)}>
          {advanced ? 'Hide combined filters' : 'Combined filters'}
        </Button>
        <Popover position="bottom-end" withinPortal>
          <Popover.Target>
            <Button variant="default" data-testid="columns">
              Columns
            </Button>
          </Popover.Target>
          <Popover.Dropdown>
            <Checkbox.Group value={visible} onChange={setVisible}>
              <Stack gap={4}>
                {EVENT_COLUMNS.map((c) => (
                  <Checkbox key={c.key} value={c.key} label={c.title} />
                ))}
              </Stack>
            </Checkbox.Group>
          </Popover.Dropdown>
        </Popover>
      </Group>
      <Collapse expanded={advanced}>
        <Stack gap="xs">
          <Text size="sm" c="dimmed">
            Every filter given must hold (opentrail&apos;s QueryEvents); the lookup attribute above joins them.
          </Text>
          <Group align="flex-end" wrap="wrap">
            {FILTERS.map((f) => (
              <TextInput key={f.key} label={f.label} name={`filter-${f.key}`} value={filters[f.key] ?? ''} onChange={(e) => setFilter(f.key, e.currentTarget.value)} w={200} />
            ))}
            <Select
              label="Read-only"
              data={[
                { value: 'any', label: 'any' },
                { value: 'true', label: 'read-only' },
                { value: 'false', label: 'changes' },
              ]}
              value={readOnly}
              onChange={setReadOnly}
              allowDeselect={false}
            />
            <Checkbox mb="xs" label="Access denied only" checked={accessDenied} onChange={(e) => setAccessDenied(e.currentTarget.checked)} name="accessDenied" />
          </Group>
        </Stack>
      </Collapse>
      <ErrorAlert error={error} />
      {page && query && (
        <>
          <Group justify="space-between">
            <Group>
              <Button variant="default" disabled={busy || page.index === 0} onClick={() => void fetchPage(query, page.tokens, page.index - 1)} data-testid="prev">
                Previous
              </Button>
              <Text data-testid="page-number">Page {page.index + 1}</Text>
              <Button variant="default" disabled={busy || !page.nextToken} onClick={() => void fetchPage(query, page.tokens, page.index + 1)} data-testid="next">
                Next
              </Button>
              <Text size="sm" c="dimmed">
                {page.events.length} events ({query.kind === 'lookup' ? 'LookupEvents' : 'QueryEvents'})
              </Text>
            </Group>
            <Group>
              <Button variant="default" onClick={() => download(`events-${stamp()}.json`, 'application/json', eventsJson(page.events))} data-testid="download-json">
                Download JSON
              </Button>
              <Button variant="default" onClick={() => download(`events-${stamp()}.csv`, 'text/csv', toCsv(page.events, columns))} data-testid="download-csv">
                Download CSV
              </Button>
            </Group>
          </Group>
          <EventTable events={page.events} columns={columns} onOpen={setOpen} />
        </>
      )}
      <EventDetail event={open} onClose={() => setOpen(undefined)} />
    </Stack>
  );
}
