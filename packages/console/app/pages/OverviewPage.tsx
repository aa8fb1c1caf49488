import { Button, Group, Paper, Select, Stack, Table, Text, Title } from '@mantine/core';
import type { ChartConfiguration } from 'chart.js';
import { useEffect, useMemo, useState } from 'react';
import type { ApiClient } from '../api';
import { ErrorAlert, useRequest } from '../request';
import { ChartView } from '../Chart';

/** GetActivitySummary's answer (services/api/src/consoleOperations.ts). */
interface Summary {
  StartTime: number;
  EndTime: number;
  EventsPerMinute: { Minute: number; Count: number; Failed: number }[];
  TopCallers: { Username: string; Count: number }[];
  TopFailedCalls: { EventName: string; EventSource: string; ErrorCode: string; Count: number }[];
  TotalEvents: number;
  FailedEvents: number;
  DeliveryLag: { Deliveries: number; LatestDeliveryTime?: number; MedianLagSeconds?: number; MaxLagSeconds?: number; Samples: { TrailName: string; DeliveredAt: number; LagSeconds: number }[] };
}

const RANGES = [
  { value: '900', label: 'last 15 minutes' },
  { value: '3600', label: 'last hour' },
  { value: '21600', label: 'last 6 hours' },
  { value: '86400', label: 'last 24 hours' },
];
const hhmm = (s: number) => new Date(s * 1000).toISOString().slice(11, 16);

export function OverviewPage({ client }: { client: ApiClient }) {
  const [range, setRange] = useState<string | null>('3600');
  const [summary, setSummary] = useState<Summary>();
  const { busy, error, run } = useRequest();

  const load = () =>
    run(async () => {
      const end = Math.floor(Date.now() / 1000);
      setSummary(await client.opentrail<Summary>('GetActivitySummary', { StartTime: end - Number(range ?? '3600'), EndTime: end }));
    });
  useEffect(() => void load(), [client, range]);

  const perMinute = useMemo<ChartConfiguration | undefined>(
    () =>
      summary && {
        type: 'bar',
        data: {
          labels: summary.EventsPerMinute.map((m) => hhmm(m.Minute)),
          datasets: [
            { label: 'events', data: summary.EventsPerMinute.map((m) => m.Count - m.Failed), backgroundColor: '#228be6', stack: 'a' },
            { label: 'failed', data: summary.EventsPerMinute.map((m) => m.Failed), backgroundColor: '#fa5252', stack: 'a' },
          ],
        },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
      },
    [summary],
  );
  const callers = useMemo<ChartConfiguration | undefined>(
    () =>
      summary && {
        type: 'bar',
        data: { labels: summary.TopCallers.map((c) => c.Username || '(none)'), datasets: [{ label: 'calls', data: summary.TopCallers.map((c) => c.Count), backgroundColor: '#40c057' }] },
        options: { indexAxis: 'y', plugins: { legend: { display: false } } },
      },
    [summary],
  );
  const lag = useMemo<ChartConfiguration | undefined>(
    () =>
      summary && {
        type: 'line',
        data: { labels: summary.DeliveryLag.Samples.map((s) => hhmm(s.DeliveredAt)), datasets: [{ label: 'delivery lag (s)', data: summary.DeliveryLag.Samples.map((s) => s.LagSeconds), borderColor: '#7950f2' }] },
        options: { scales: { y: { beginAtZero: true } } },
      },
    [summary],
  );

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Overview</Title>
        <Group>
          <Select data={RANGES} value={range} onChange={setRange} allowDeselect={false} w={180} />
          <Button variant="default" onClick={() => void load()} loading={busy}>
            Refresh
          </Button>
        </Group>
      </Group>
      <ErrorAlert error={error} />
      {summary && (
        <>
          <Group>
            <Paper withBorder p="sm">
              <Text size="xs" c="dimmed">
                Events
              </Text>
              <Text fw={700} data-testid="total-events">
                {summary.TotalEvents}
              </Text>
            </Paper>
            <Paper withBorder p="sm">
              <Text size="xs" c="dimmed">
                Failed
              </Text>
              <Text fw={700} data-testid="failed-events">
                {summary.FailedEvents}
              </Text>
            </Paper>
            <Paper withBorder p="sm">
              <Text size="xs" c="dimmed">
                Log files delivered
              </Text>
              <Text fw={700}>{summary.DeliveryLag.Deliveries}</Text>
            </Paper>
            <Paper withBorder p="sm">
              <Text size="xs" c="dimmed">
                Delivery lag, median / max
              </Text>
              <Text fw={700} data-testid="delivery-lag">
                {summary.DeliveryLag.MedianLagSeconds === undefined ? 'no deliveries' : `${summary.DeliveryLag.MedianLagSeconds.toFixed(1)} s / ${summary.DeliveryLag.MaxLagSeconds!.toFixed(1)} s`}
              </Text>
            </Paper>
          </Group>
          <Title order={4}>Events per minute</Title>
          {perMinute && <ChartView config={perMinute} testId="chart-per-minute" />}
          <Group grow align="flex-start">
            <Stack>
              <Title order={4}>Top callers</Title>
              {callers && <ChartView config={callers} testId="chart-callers" />}
            </Stack>
            <Stack>
              <Title order={4}>Delivery lag</Title>
              {lag && <ChartView config={lag} testId="chart-lag" />}
            </Stack>
          </Group>
          <Title order={4}>Top failed calls</Title>
          <Table withTableBorder data-testid="top-failed">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Event name</Table.Th>
                <Table.Th>Event source</Table.Th>
                <Table.Th>Error code</Table.Th>
                <Table.Th>Count</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {summary.TopFailedCalls.map((f) => (
                <Table.Tr key={`${f.EventName}\n${f.EventSource}\n${f.ErrorCode}`}>
                  <Table.Td>{f.EventName}</Table.Td>
                  <Table.Td>{f.EventSource}</Table.Td>
                  <Table.Td>{f.ErrorCode}</Table.Td>
                  <Table.Td>{f.Count}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
    </Stack>
  );
}
