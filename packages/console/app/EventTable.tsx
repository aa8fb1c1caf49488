import { Table, Text } from '@mantine/core';
import { cellText, type EventColumn } from '../src/csv';
import type { ConsoleEvent } from '../src/events';

/** The events of one page; every value is React text (never markup). A row opens the event. */
export function EventTable({ events, columns, onOpen }: { events: ConsoleEvent[]; columns: readonly EventColumn[]; onOpen: (e: ConsoleEvent) => void }) {
  if (events.length === 0) return <Text c="dimmed">No events.</Text>;
  return (
    <div className="ot-table-wrap">
      <Table striped highlightOnHover withTableBorder data-testid="event-table">
        <Table.Thead>
          <Table.Tr>
            {columns.map((c) => (
              <Table.Th key={c.key}>{c.title}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {events.map((e) => (
            <Table.Tr key={`${e.eventId}\n${e.eventTime}`} className="ot-row" data-event-id={e.eventId} onClick={() => onOpen(e)}>
              {columns.map((c) => (
                <Table.Td key={c.key} className="ot-cell" data-column={c.key}>
                  {cellText(e, c.key)}
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </div>
  );
}
