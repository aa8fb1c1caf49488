import { Anchor, Button, Checkbox, Group, Stack, Text, TextInput, Timeline, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { toConsoleEvent, type ConsoleEvent } from '../../src/events';
import type { ApiClient } from '../api';
import { EventDetail } from '../EventDetail';
import { ErrorAlert, useRequest } from '../request';

/** One resource's changes, newest first (opentrail's GetResourceHistory): who, what, when, from where. */
export function ResourcePage({ client, params }: { client: ApiClient; params: URLSearchParams }) {
  const [name, setName] = useState(params.get('name') ?? '');
  const [type, setType] = useState(params.get('type') ?? '');
  const [includeFailed, setIncludeFailed] = useState(false);
  const [events, setEvents] = useState<ConsoleEvent[]>();
  const [nextToken, setNextToken] = useState<string>();
  const { busy, error, setError, run } = useRequest();
  const [open, setOpen] = useState<ConsoleEvent>();

  const load = async (resource: string, more?: string) => {
    if (!resource.trim()) return setError('Give a resource name or ARN');
    await run(async () => {
      const out = await client.opentrail<{ Events?: Record<string, unknown>[]; NextToken?: string }>('GetResourceHistory', {
        ResourceName: resource.trim(),
        ...(type.trim() ? { ResourceType: type.trim() } : {}),
        ...(includeFailed ? { IncludeFailed: true } : {}),
        MaxResults: 50,
        ...(more ? { NextToken: more } : {}),
      });
      const page = (out.Events ?? []).map(toConsoleEvent);
      setEvents((before) => (more ? [...(before ?? []), ...page] : page));
      setNextToken(out.NextToken);
    });
  };

  useEffect(() => {
    const n = params.get('name');
    if (n) {
      setName(n);
      void load(n);
    }
  }, [params.toString()]);

  return (
    <Stack>
      <Title order={2}>Resource timeline</Title>
      <Group align="flex-end">
        <TextInput label="Resource name or ARN" name="resourceName" value={name} onChange={(e) => setName(e.currentTarget.value)} w={380} />
        <TextInput label="Resource type (optional)" name="resourceType" placeholder="AWS::S3::Bucket" value={type} onChange={(e) => setType(e.currentTarget.value)} w={220} />
        <Checkbox mb="xs" label="Include failed calls" checked={includeFailed} onChange={(e) => setIncludeFailed(e.currentTarget.checked)} />
        <Button onClick={() => void load(name)} loading={busy} data-testid="resource-search">
          Show changes
        </Button>
      </Group>
      <ErrorAlert error={error} />
      {events && events.length === 0 && <Text c="dimmed">No changes to this resource in the event history.</Text>}
      {events && events.length > 0 && (
        <Timeline bulletSize={14} lineWidth={2} data-testid="resource-timeline">
          {events.map((e) => (
            <Timeline.Item key={`${e.eventId}\n${e.eventTime}`} title={e.eventName} color={e.errorCode ? 'red' : 'blue'} data-event-id={e.eventId}>
              <Text size="sm">
                {new Date(e.eventTime).toISOString()} by {e.username || '(unknown)'}
                {e.accessKeyId ? ` with ${e.accessKeyId}` : ''} from {e.sourceIp || '(unknown)'}
              </Text>
              <Text size="xs" c="dimmed">
                {e.eventSource}
                {e.errorCode ? ` failed: ${e.errorCode}` : ''}
              </Text>
              <Anchor size="xs" component="button" onClick={() => setOpen(e)}>
                Event record
              </Anchor>
            </Timeline.Item>
          ))}
        </Timeline>
      )}
      {nextToken && (
        <Button variant="default" onClick={() => void load(name, nextToken)} loading={busy}>
          Older changes
        </Button>
      )}
      <EventDetail event={open} onClose={() => setOpen(undefined)} />
    </Stack>
  );
}
