import { Anchor, Badge, Button, Card, Group, Stack, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ApiClient } from '../api';
import { ErrorAlert, useRequest } from '../request';
import { href } from '../route';

/** An alert as ListRecentAlerts answers it (services/api/src/alertsFeed.ts). */
interface RecentAlert {
  AlertId: string;
  RuleId: string;
  RuleKind: string;
  Title: string;
  Description?: string;
  Severity: string;
  GroupKey?: string;
  Count: number;
  FirstSeen: number;
  LastSeen: number;
  FiredAt: number;
  EventIds: string[];
  Region?: string;
}

const SEVERITY_COLOR = new Map([
  ['CRITICAL', 'red'],
  ['HIGH', 'orange'],
  ['MEDIUM', 'yellow'],
  ['LOW', 'blue'],
  ['INFORMATIONAL', 'gray'],
]);

const time = (s: number) => new Date(s * 1000).toISOString();

export function AlertsPage({ client }: { client: ApiClient }) {
  const [alerts, setAlerts] = useState<RecentAlert[]>();
  const { busy, error, run } = useRequest();

  const load = () =>
    run(async () => {
      setAlerts((await client.opentrail<{ Alerts: RecentAlert[] }>('ListRecentAlerts', { MaxResults: 100 })).Alerts);
    });
  useEffect(() => void load(), [client]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Alerts</Title>
        <Button variant="default" onClick={() => void load()} loading={busy} data-testid="alerts-refresh">
          Refresh
        </Button>
      </Group>
      <ErrorAlert error={error} />
      {alerts && alerts.length === 0 && <Text c="dimmed">No alerts yet.</Text>}
      {alerts?.map((a) => (
        <Card key={a.AlertId} withBorder data-testid="alert" data-alert-id={a.AlertId}>
          <Group justify="space-between">
            <Group>
              <Badge color={SEVERITY_COLOR.get(a.Severity) ?? 'gray'}>{a.Severity}</Badge>
              <Text fw={600}>{a.Title}</Text>
            </Group>
            <Text size="sm" c="dimmed">
              fired {time(a.FiredAt)}
            </Text>
          </Group>
          <Text size="sm">
            Rule <b>{a.RuleId}</b> ({a.RuleKind}){a.GroupKey ? ` for ${a.GroupKey}` : ''}: {a.Count} matching events from {time(a.FirstSeen)} to {time(a.LastSeen)}
            {a.Region ? ` in ${a.Region}` : ''}
          </Text>
          {a.Description && (
            <Text size="sm" c="dimmed">
              {a.Description}
            </Text>
          )}
          <Group gap="xs" mt="xs">
            <Text size="sm">Events:</Text>
            {a.EventIds.slice(0, 20).map((id) => (
              <Anchor key={id} size="sm" href={href('events', { EventId: id })} data-testid="alert-event-link">
                {id}
              </Anchor>
            ))}
            {a.EventIds.length > 20 && <Text size="sm">and {a.EventIds.length - 20} more</Text>}
          </Group>
        </Card>
      ))}
    </Stack>
  );
}
