import {
  CancelQueryCommand,
  DescribeQueryCommand,
  GetEventDataStoreCommand,
  GetQueryResultsCommand,
  ListEventDataStoresCommand,
  StartQueryCommand,
  type CancelQueryCommandOutput,
  type DescribeQueryCommandOutput,
  type GetEventDataStoreCommandOutput,
  type GetQueryResultsCommandOutput,
  type ListEventDataStoresCommandOutput,
  type StartQueryCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import { Alert, Anchor, Badge, Button, Group, Select, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useEffect, useMemo, useRef, useState } from 'react';
import { errorText, type ApiClient } from '../api';
import { LAKE_SAMPLES, sampleStatement, substituteStore, type LakeSample } from '../lakeSamples';
import { ErrorAlert } from '../request';

/**
 * CloudTrail Lake queries: pick an event data store (ListEventDataStores, GetEventDataStore), write
 * SQL or start from one of AWS's sample queries, run it (StartQuery), follow it while it runs
 * (DescribeQuery: status, events and bytes scanned, elapsed time), cancel it (CancelQuery), and read
 * its rows 50 a page (GetQueryResults). Every value is React text, never markup.
 */
interface StoreOption {
  id: string;
  arn: string;
  name: string;
}

const FINAL: readonly string[] = ['FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
const STATUS_COLOR = new Map([
  ['QUEUED', 'gray'],
  ['RUNNING', 'blue'],
  ['FINISHED', 'green'],
  ['FAILED', 'red'],
  ['CANCELLED', 'orange'],
  ['TIMED_OUT', 'red'],
]);
const PAGE_SIZE = 50;
const POLL_MS = 1000;

/** The query being run or last run, as DescribeQuery last answered. */
interface QueryRun {
  queryId: string;
  statement: string;
  /** When Run was pressed (this browser's clock): the elapsed time while it runs. */
  startedAt: number;
  /** QUEUED, RUNNING, FINISHED, FAILED, CANCELLED or TIMED_OUT. */
  status: string;
  eventsScanned?: number;
  bytesScanned?: number;
  eventsMatched?: number;
  executionMs?: number;
  /** When this page saw the query end, for the elapsed time if the API gives none. */
  endedAt?: number;
  errorMessage?: string;
}

interface ResultPage {
  queryId: string;
  /** tokens[i]: the NextToken that fetched page i (page 0: none). */
  tokens: (string | undefined)[];
  index: number;
  columns: string[];
  rows: (string | null)[][];
  nextToken?: string;
  total?: number;
}

const storeIdOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
const PLACEHOLDERS = [...new Set(LAKE_SAMPLES.map((s) => s.placeholder))];
const count = (n: number | undefined) => (n === undefined ? '–' : n.toLocaleString('en-US'));

function bytes(n: number | undefined): string {
  if (n === undefined) return '–';
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = '';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit ? `${count(n)} bytes (${value.toFixed(1)} ${unit})` : `${count(n)} bytes`;
}

/** A row of GetQueryResults (a list of one-entry objects, in the query's column order) as column names and values. */
function splitRow(row: Record<string, string | null>[]): { columns: string[]; values: (string | null)[] } {
  const columns: string[] = [];
  const values: (string | null)[] = [];
  for (const cell of row) {
    for (const [column, value] of Object.entries(cell)) {
      columns.push(column);
      values.push(typeof value === 'string' ? value : null);
    }
  }
  return { columns, values };
}

function elapsed(run: QueryRun, now: number): string {
  const ms = FINAL.includes(run.status) ? (run.executionMs ?? (run.endedAt ?? now) - run.startedAt) : now - run.startedAt;
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

function ResultsTable({ page }: { page: ResultPage }) {
  if (page.rows.length === 0) return <Text c="dimmed">The query returned no rows.</Text>;
  return (
    <div className="ot-table-wrap">
      <Table striped withTableBorder withColumnBorders data-testid="lake-results">
        <Table.Thead>
          <Table.Tr>
            {page.columns.map((c, i) => (
              <Table.Th key={i} scope="col">
                {c}
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {page.rows.map((row, r) => (
            <Table.Tr key={r}>
              {row.map((value, i) => (
                <Table.Td key={i} className="ot-cell" title={value ?? undefined} data-null={value === null ? 'true' : undefined}>
                  {value === null ? (
                    <Text span c="dimmed" fs="italic" size="sm">
                      null
                    </Text>
                  ) : (
                    value
                  )}
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </div>
  );
}

export function LakePage({ client }: { client: ApiClient }) {
  const [stores, setStores] = useState<StoreOption[]>();
  const [storeId, setStoreId] = useState<string | null>(null);
  const [store, setStore] = useState<GetEventDataStoreCommandOutput>();
  const [sampleFile, setSampleFile] = useState<string | null>(LAKE_SAMPLES[0]!.file);
  const [sql, setSql] = useState(LAKE_SAMPLES[0]!.text);
  const [parameters, setParameters] = useState('');
  const [run, setRun] = useState<QueryRun>();
  const [starting, setStarting] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [refusal, setRefusal] = useState<string>();
  const [error, setError] = useState<string>();
  const [page, setPage] = useState<ResultPage>();
  const [pageBusy, setPageBusy] = useState(false);
  const [now, setNow] = useState(Date.now());
  const storeRef = useRef<string | null>(null);

  const sample: LakeSample | undefined = useMemo(() => LAKE_SAMPLES.find((s) => s.file === sampleFile), [sampleFile]);
  const active = run !== undefined && !FINAL.includes(run.status);

  const pickStore = (id: string | null) => {
    const before = storeRef.current;
    storeRef.current = id;
    setStoreId(id);
    // The store goes where a sample's placeholder (or the store picked before) follows FROM.
    if (id) setSql((text) => substituteStore(text, [...PLACEHOLDERS, ...(before ? [before] : [])], id));
  };

  // The caller's stores in its region, every page of them; the first one is picked.
  useEffect(() => {
    let stopped = false;
    void (async () => {
      try {
        const all: StoreOption[] = [];
        let token: string | undefined;
        do {
          const out = await client.send<ListEventDataStoresCommandOutput>(new ListEventDataStoresCommand({ MaxResults: 100, ...(token ? { NextToken: token } : {}) }));
          for (const s of out.EventDataStores ?? []) if (s.EventDataStoreArn) all.push({ arn: s.EventDataStoreArn, id: storeIdOf(s.EventDataStoreArn), name: s.Name ?? storeIdOf(s.EventDataStoreArn) });
          token = out.NextToken;
        } while (token && !stopped);
        if (stopped) return;
        setStores(all);
        if (storeRef.current === null && all[0]) pickStore(all[0].id);
      } catch (err) {
        if (!stopped) setError(errorText(err));
      }
    })();
    return () => {
      stopped = true;
    };
  }, [client]);

  // The picked store's details.
  useEffect(() => {
    setStore(undefined);
    if (!storeId) return;
    let stopped = false;
    client
      .send<GetEventDataStoreCommandOutput>(new GetEventDataStoreCommand({ EventDataStore: storeId }))
      .then((out) => !stopped && setStore(out))
      .catch((err: unknown) => !stopped && setError(errorText(err)));
    return () => {
      stopped = true;
    };
  }, [client, storeId]);

  const loadPage = async (queryId: string, tokens: (string | undefined)[], index: number) => {
    setPageBusy(true);
    setError(undefined);
    try {
      const token = tokens[index];
      const out = await client.send<GetQueryResultsCommandOutput>(new GetQueryResultsCommand({ QueryId: queryId, MaxQueryResults: PAGE_SIZE, ...(token ? { NextToken: token } : {}) }));
      const split = (out.QueryResultRows ?? []).map((r) => splitRow(r as Record<string, string | null>[]));
      const nextToken = out.NextToken;
      setPage({
        queryId,
        tokens: nextToken ? [...tokens.slice(0, index + 1), nextToken] : tokens.slice(0, index + 1),
        index,
        columns: split[0]?.columns ?? [],
        rows: split.map((s) => s.values),
        ...(nextToken ? { nextToken } : {}),
        ...(out.QueryStatistics?.TotalResultsCount !== undefined ? { total: out.QueryStatistics.TotalResultsCount } : {}),
      });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setPageBusy(false);
    }
  };

  // DescribeQuery once a second while the query is queued or running; its first page once it has finished.
  const runningId = active ? run.queryId : undefined;
  useEffect(() => {
    if (!runningId) return;
    let stopped = false;
    let timer: number | undefined;
    const ticker = window.setInterval(() => setNow(Date.now()), 200);
    const poll = async () => {
      try {
        const out = await client.send<DescribeQueryCommandOutput>(new DescribeQueryCommand({ QueryId: runningId }));
        if (stopped) return;
        const status = out.QueryStatus ?? 'QUEUED';
        const stats = out.QueryStatistics;
        setRun((r) =>
          r && r.queryId === runningId
            ? {
                ...r,
                status,
                ...(stats?.EventsScanned !== undefined ? { eventsScanned: stats.EventsScanned } : {}),
                ...(stats?.BytesScanned !== undefined ? { bytesScanned: stats.BytesScanned } : {}),
                ...(stats?.EventsMatched !== undefined ? { eventsMatched: stats.EventsMatched } : {}),
                ...(stats?.ExecutionTimeInMillis !== undefined ? { executionMs: stats.ExecutionTimeInMillis } : {}),
                ...(out.ErrorMessage !== undefined ? { errorMessage: out.ErrorMessage } : {}),
                ...(FINAL.includes(status) && r.endedAt === undefined ? { endedAt: Date.now() } : {}),
              }
            : r,
        );
        if (FINAL.includes(status)) {
          if (status === 'FINISHED') await loadPage(runningId, [undefined], 0);
          return;
        }
      } catch (err) {
        if (stopped) return;
        setError(errorText(err));
      }
      if (!stopped) timer = window.setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      window.clearInterval(ticker);
      if (timer !== undefined) window.clearTimeout(timer);
    };
  }, [client, runningId]);

  const start = async () => {
    setRefusal(undefined);
    setError(undefined);
    setPage(undefined);
    // The last query's status, statistics and rows go at once: what shows is this run's.
    setRun(undefined);
    setStarting(true);
    const statement = sql.trim();
    const params = parameters
      .split('\n')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const startedAt = Date.now();
    try {
      const out = await client.send<StartQueryCommandOutput>(new StartQueryCommand({ QueryStatement: statement, ...(params.length > 0 ? { QueryParameters: params } : {}) }));
      setNow(Date.now());
      setRun({ queryId: out.QueryId ?? '', statement, startedAt, status: 'QUEUED' });
    } catch (err) {
      setRefusal(errorText(err));
    } finally {
      setStarting(false);
    }
  };

  const cancel = async () => {
    if (!run) return;
    setCancelling(true);
    setError(undefined);
    try {
      const out = await client.send<CancelQueryCommandOutput>(new CancelQueryCommand({ QueryId: run.queryId }));
      // The next DescribeQuery confirms it (and gives the statistics).
      setRun((r) => (r && r.queryId === run.queryId ? { ...r, status: out.QueryStatus ?? 'CANCELLED', endedAt: r.endedAt ?? Date.now() } : r));
      setNow(Date.now());
    } catch (err) {
      setError(errorText(err));
    } finally {
      setCancelling(false);
    }
  };

  const storeOptions = (stores ?? []).map((s) => ({ value: s.id, label: `${s.name} (${s.id})` }));
  const first = page ? page.index * PAGE_SIZE + 1 : 0;

  return (
    <Stack>
      <Title order={2}>Lake queries</Title>
      <Group align="flex-end" wrap="wrap">
        <Select
          label="Event data store"
          placeholder={stores && stores.length === 0 ? 'No event data stores in this region' : 'Pick a store'}
          data={storeOptions}
          value={storeId}
          onChange={(v) => pickStore(v)}
          allowDeselect={false}
          searchable
          w={480}
          data-testid="lake-store"
        />
        <Select
          label="Sample query"
          placeholder="(none)"
          data={LAKE_SAMPLES.map((s) => ({ value: s.file, label: s.title }))}
          value={sampleFile}
          onChange={(v) => {
            setSampleFile(v);
            const s = LAKE_SAMPLES.find((x) => x.file === v);
            if (s) setSql(sampleStatement(s, storeId ?? undefined));
          }}
          allowDeselect={false}
          w={380}
          data-testid="lake-sample"
        />
      </Group>
      {store && (
        <Text size="sm" c="dimmed" data-testid="lake-store-details">
          {store.Name} · {store.Status} · {store.MultiRegionEnabled ? 'multi-region' : 'single region'}
          {store.OrganizationEnabled ? ' · organization' : ''} · retention {store.RetentionPeriod ?? '–'} days
          {store.CreatedTimestamp ? ` · created ${store.CreatedTimestamp.toISOString()}` : ''}
        </Text>
      )}
      {sample && (
        <Text size="xs" c="dimmed">
          Sample {sample.file} from AWS&apos;s CloudTrail Lake sample queries (
          <Anchor size="xs" href={sample.source} target="_blank" rel="noopener noreferrer">
            source
          </Anchor>
          ): the store picked replaces {sample.placeholder} after FROM.
        </Text>
      )}
      <Textarea
        label="SQL"
        description="One SELECT over your event data stores, named by their ID after FROM."
        name="queryStatement"
        value={sql}
        onChange={(e) => setSql(e.currentTarget.value)}
        autosize
        minRows={8}
        maxRows={24}
        spellCheck={false}
        classNames={{ input: 'ot-sql' }}
        data-testid="lake-sql"
      />
      <Textarea
        label="Query parameters (optional)"
        description="One a line, bound in order to each ? of the statement."
        name="queryParameters"
        value={parameters}
        onChange={(e) => setParameters(e.currentTarget.value)}
        autosize
        minRows={1}
        maxRows={6}
        w={480}
      />
      <Group>
        <Button onClick={() => void start()} loading={starting} disabled={active || sql.trim() === ''} data-testid="lake-run">
          Run
        </Button>
        <Button variant="default" color="red" onClick={() => void cancel()} loading={cancelling} disabled={!active} data-testid="lake-cancel">
          Cancel query
        </Button>
      </Group>
      {refusal && (
        <Alert color="red" title="Query refused" data-testid="lake-refused">
          {refusal}
        </Alert>
      )}
      {run && (
        <Stack gap={4} data-testid="lake-progress" aria-live="polite">
          <Group gap="md">
            <Badge color={STATUS_COLOR.get(run.status) ?? 'gray'} data-testid="lake-status">
              {run.status}
            </Badge>
            <Text size="sm">
              Events scanned: <span data-testid="lake-events-scanned">{count(run.eventsScanned)}</span>
            </Text>
            <Text size="sm">
              Bytes scanned: <span data-testid="lake-bytes-scanned">{bytes(run.bytesScanned)}</span>
            </Text>
            <Text size="sm">
              Elapsed: <span data-testid="lake-elapsed">{elapsed(run, now)}</span>
            </Text>
            {run.status === 'FINISHED' && (
              <Text size="sm">
                Rows: <span data-testid="lake-rows-matched">{count(run.eventsMatched)}</span>
              </Text>
            )}
          </Group>
          <Text size="xs" c="dimmed">
            Query ID <span data-testid="lake-query-id">{run.queryId}</span>
          </Text>
        </Stack>
      )}
      {run?.status === 'FAILED' && (
        <Alert color="red" title="Query failed" data-testid="lake-failed">
          {run.errorMessage ?? 'The query failed.'}
        </Alert>
      )}
      {run?.status === 'TIMED_OUT' && (
        <Alert color="red" title="Query timed out" data-testid="lake-failed">
          {run.errorMessage ?? 'The query ran longer than it may.'}
        </Alert>
      )}
      <ErrorAlert error={error} />
      {page && run && page.queryId === run.queryId && (
        <>
          <Group>
            <Button variant="default" disabled={pageBusy || page.index === 0} onClick={() => void loadPage(page.queryId, page.tokens, page.index - 1)} data-testid="lake-prev">
              Previous
            </Button>
            <Text data-testid="lake-page-number">Page {page.index + 1}</Text>
            <Button variant="default" disabled={pageBusy || !page.nextToken} onClick={() => void loadPage(page.queryId, page.tokens, page.index + 1)} data-testid="lake-next">
              Next
            </Button>
            <Text size="sm" c="dimmed" data-testid="lake-row-range">
              {page.rows.length === 0 ? 'No rows' : `Rows ${first}–${first + page.rows.length - 1}${page.total !== undefined ? ` of ${page.total}` : ''}`}
            </Text>
          </Group>
          <ResultsTable page={page} />
        </>
      )}
    </Stack>
  );
}
