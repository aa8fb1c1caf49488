import { Anchor, Code, Group, Modal, Stack, Text } from '@mantine/core';
import type { ConsoleEvent } from '../src/events';
import { download, prettyJson } from './download';
import { href } from './route';

/** One event's CloudTrail record, pretty-printed as text. */
export function EventDetail({ event, onClose }: { event: ConsoleEvent | undefined; onClose: () => void }) {
  return (
    <Modal opened={event !== undefined} onClose={onClose} size="xl" lockScroll={false} title={event ? `${event.eventName} (${event.eventId})` : ''}>
      {event && (
        <Stack>
          <Group>
            <Text size="sm">{new Date(event.eventTime).toISOString()}</Text>
            <Text size="sm">{event.username}</Text>
            <Text size="sm">{event.eventSource}</Text>
            {event.resourceName &&
              event.resourceName.split(', ').map((name) => (
                <Anchor key={name} size="sm" href={href('resource', { name })} onClick={onClose}>
                  {name}
                </Anchor>
              ))}
            <Anchor size="sm" component="button" onClick={() => download(`${event.eventId}.json`, 'application/json', prettyJson(event.cloudTrailEvent))}>
              Download JSON
            </Anchor>
          </Group>
          <Code block className="ot-json" data-testid="event-json">
            {prettyJson(event.cloudTrailEvent)}
          </Code>
        </Stack>
      )}
    </Modal>
  );
}
