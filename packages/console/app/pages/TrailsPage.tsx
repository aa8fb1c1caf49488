import {
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
  type DescribeTrailsCommandOutput,
  type GetEventSelectorsCommandOutput,
  type GetTrailStatusCommandOutput,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { Alert, Badge, Button, Checkbox, Group, JsonInput, Loader, Modal, SegmentedControl, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { errorText, type ApiClient } from '../api';
import { ErrorAlert } from '../request';

/**
 * The trails of the region (DescribeTrails), each with its status (GetTrailStatus), and the
 * control plane's operations: create, edit (UpdateTrail), start and stop logging, delete, and the
 * event selectors (Get/PutEventSelectors, basic or advanced), as CloudTrail documents them.
 */
interface TrailForm {
  Name: string;
  S3BucketName: string;
  S3KeyPrefix: string;
  IsMultiRegionTrail: boolean;
  IncludeGlobalServiceEvents: boolean;
  EnableLogFileValidation: boolean;
}

const EMPTY: TrailForm = { Name: '', S3BucketName: '', S3KeyPrefix: '', IsMultiRegionTrail: true, IncludeGlobalServiceEvents: true, EnableLogFileValidation: true };
const time = (d: Date | undefined) => (d ? d.toISOString() : '');

function TrailEditor({ initial, editing, onSave, onClose }: { initial: TrailForm; editing: boolean; onSave: (f: TrailForm) => Promise<void>; onClose: () => void }) {
  const [form, setForm] = useState(initial);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof TrailForm>(k: K, v: TrailForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <Modal opened onClose={onClose} title={editing ? `Edit trail ${initial.Name}` : 'Create trail'} lockScroll={false} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          onSave(form)
            .then(onClose)
            .catch((err: unknown) => setError(errorText(err)))
            .finally(() => setBusy(false));
        }}
      >
        <Stack>
          <TextInput label="Trail name" name="trailName" value={form.Name} onChange={(e) => set('Name', e.currentTarget.value)} disabled={editing} required />
          <TextInput label="S3 bucket" name="s3Bucket" value={form.S3BucketName} onChange={(e) => set('S3BucketName', e.currentTarget.value)} required />
          <TextInput label="S3 key prefix" name="s3KeyPrefix" value={form.S3KeyPrefix} onChange={(e) => set('S3KeyPrefix', e.currentTarget.value)} />
          <Checkbox label="Multi-region trail" checked={form.IsMultiRegionTrail} onChange={(e) => set('IsMultiRegionTrail', e.currentTarget.checked)} />
          <Checkbox label="Include global service events" checked={form.IncludeGlobalServiceEvents} onChange={(e) => set('IncludeGlobalServiceEvents', e.currentTarget.checked)} />
          <Checkbox label="Log file validation (digests)" checked={form.EnableLogFileValidation} onChange={(e) => set('EnableLogFileValidation', e.currentTarget.checked)} />
          {error && (
            <Alert color="red" data-testid="trail-error">
              {error}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button type="submit" loading={busy} data-testid="trail-save">
              {editing ? 'Save' : 'Create trail'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function SelectorsEditor({ client, trail, onClose }: { client: ApiClient; trail: Trail; onClose: () => void }) {
  const [kind, setKind] = useState<'basic' | 'advanced'>('basic');
  // undefined until the trail's selectors are read: the editor shows them, never a blank to be overwritten.
  const [json, setJson] = useState<string>();
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    client
      .send<GetEventSelectorsCommandOutput>(new GetEventSelectorsCommand({ TrailName: trail.TrailARN ?? trail.Name }))
      .then((out) => {
        const advanced = out.AdvancedEventSelectors && out.AdvancedEventSelectors.length > 0;
        setKind(advanced ? 'advanced' : 'basic');
        setJson(JSON.stringify(advanced ? out.AdvancedEventSelectors : (out.EventSelectors ?? []), null, 2));
      })
      .catch((err: unknown) => setError(errorText(err)));
  }, [client, trail]);

  const save = async () => {
    setError(undefined);
    setSaved(false);
    let selectors: unknown;
    try {
      selectors = JSON.parse(json ?? '');
    } catch {
      return setError('The selectors are not valid JSON');
    }
    if (!Array.isArray(selectors)) return setError('The selectors must be a JSON array');
    setBusy(true);
    try {
      await client.send(new PutEventSelectorsCommand({ TrailName: trail.TrailARN ?? trail.Name, ...(kind === 'advanced' ? { AdvancedEventSelectors: selectors } : { EventSelectors: selectors }) }));
      setSaved(true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal opened onClose={onClose} title={`Event selectors of ${trail.Name ?? ''}`} lockScroll={false} size="xl">
      <Stack>
        <SegmentedControl
          value={kind}
          onChange={(v) => setKind(v)}
          data={[
            { value: 'basic', label: 'EventSelectors' },
            { value: 'advanced', label: 'AdvancedEventSelectors' },
          ]}
        />
        <Text size="xs" c="dimmed">
          {kind === 'basic'
            ? '[{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket/"]}]}]'
            : '[{"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]'}
        </Text>
        {json === undefined ? <Loader size="sm" /> : <JsonInput value={json} onChange={setJson} minRows={10} autosize formatOnBlur validationError="Not valid JSON" data-testid="selectors-json" />}
        {error && (
          <Alert color="red" data-testid="selectors-error">
            {error}
          </Alert>
        )}
        {saved && (
          <Alert color="green" data-testid="selectors-saved">
            Saved.
          </Alert>
        )}
        <Group justify="flex-end">
          <Button onClick={() => void save()} loading={busy} disabled={json === undefined} data-testid="selectors-save">
            Save selectors
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export function TrailsPage({ client }: { client: ApiClient }) {
  const [trails, setTrails] = useState<Trail[]>();
  const [status, setStatus] = useState<Map<string, GetTrailStatusCommandOutput | string>>(new Map());
  const [error, setError] = useState<string>();
  const [editor, setEditor] = useState<{ form: TrailForm; editing: boolean }>();
  const [selectors, setSelectors] = useState<Trail>();
  const [deleting, setDeleting] = useState<Trail>();
  const [busy, setBusy] = useState(false);

  const load = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const out = await client.send<DescribeTrailsCommandOutput>(new DescribeTrailsCommand({}));
      const list = out.trailList ?? [];
      setTrails(list);
      const statuses = await Promise.all(
        list.map(async (t) => {
          const key = t.TrailARN ?? t.Name ?? '';
          try {
            return [key, await client.send<GetTrailStatusCommandOutput>(new GetTrailStatusCommand({ Name: key }))] as const;
          } catch (err) {
            return [key, errorText(err)] as const;
          }
        }),
      );
      setStatus(new Map<string, GetTrailStatusCommandOutput | string>(statuses));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => void load(), [client]);

  const act = async (call: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await call();
    } catch (err) {
      setError(errorText(err));
    }
    await load();
  };

  const save = async (f: TrailForm, editing: boolean) => {
    const common = { Name: f.Name.trim(), S3BucketName: f.S3BucketName.trim(), ...(f.S3KeyPrefix.trim() ? { S3KeyPrefix: f.S3KeyPrefix.trim() } : {}), IsMultiRegionTrail: f.IsMultiRegionTrail, IncludeGlobalServiceEvents: f.IncludeGlobalServiceEvents, EnableLogFileValidation: f.EnableLogFileValidation };
    await client.send(editing ? new UpdateTrailCommand(common) : new CreateTrailCommand(common));
    await load();
  };

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Trails</Title>
        <Group>
          <Button variant="default" onClick={() => void load()} loading={busy} data-testid="trails-refresh">
            Refresh
          </Button>
          <Button onClick={() => setEditor({ form: EMPTY, editing: false })} data-testid="trail-create">
            Create trail
          </Button>
        </Group>
      </Group>
      <ErrorAlert error={error} />
      {trails && trails.length === 0 && <Text c="dimmed">No trails in this region.</Text>}
      {trails && trails.length > 0 && (
        <div className="ot-table-wrap">
          <Table withTableBorder striped data-testid="trails-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Home region</Table.Th>
                <Table.Th>Multi-region</Table.Th>
                <Table.Th>S3 bucket</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Latest delivery</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {trails.map((t) => {
                const key = t.TrailARN ?? t.Name ?? '';
                const s = status.get(key);
                const logging = typeof s === 'object' ? s.IsLogging === true : undefined;
                return (
                  <Table.Tr key={key} data-trail={t.Name}>
                    <Table.Td>{t.Name}</Table.Td>
                    <Table.Td>{t.HomeRegion}</Table.Td>
                    <Table.Td>{t.IsMultiRegionTrail ? 'yes' : 'no'}</Table.Td>
                    <Table.Td>
                      {t.S3BucketName}
                      {t.S3KeyPrefix ? `/${t.S3KeyPrefix}` : ''}
                    </Table.Td>
                    <Table.Td data-testid="trail-status">
                      {typeof s === 'string' ? <Text c="red">{s}</Text> : logging === undefined ? '…' : <Badge color={logging ? 'green' : 'gray'}>{logging ? 'Logging' : 'Stopped'}</Badge>}
                    </Table.Td>
                    <Table.Td>{typeof s === 'object' ? time(s.LatestDeliveryTime) : ''}</Table.Td>
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        {logging === false && (
                          <Button size="xs" onClick={() => void act(() => client.send(new StartLoggingCommand({ Name: key })))} data-testid="trail-start">
                            Start logging
                          </Button>
                        )}
                        {logging === true && (
                          <Button size="xs" variant="default" onClick={() => void act(() => client.send(new StopLoggingCommand({ Name: key })))} data-testid="trail-stop">
                            Stop logging
                          </Button>
                        )}
                        <Button size="xs" variant="default" onClick={() => setEditor({ editing: true, form: { Name: t.Name ?? '', S3BucketName: t.S3BucketName ?? '', S3KeyPrefix: t.S3KeyPrefix ?? '', IsMultiRegionTrail: t.IsMultiRegionTrail ?? false, IncludeGlobalServiceEvents: t.IncludeGlobalServiceEvents ?? false, EnableLogFileValidation: t.LogFileValidationEnabled ?? false } })}>
                          Edit
                        </Button>
                        <Button size="xs" variant="default" onClick={() => setSelectors(t)} data-testid="trail-selectors">
                          Selectors
                        </Button>
                        <Button
                          size="xs"
                          color="red"
                          variant="light"
                          onClick={() => setDeleting(t)}
                          data-testid="trail-delete"
                        >
                          Delete
                        </Button>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </div>
      )}
      {editor && <TrailEditor initial={editor.form} editing={editor.editing} onSave={(f) => save(f, editor.editing)} onClose={() => setEditor(undefined)} />}
      {deleting && (
        <Modal opened onClose={() => setDeleting(undefined)} title="Delete trail" lockScroll={false}>
          <Stack>
            <Text>
              Delete the trail {deleting.Name}? Its log files stay in {deleting.S3BucketName}.
            </Text>
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setDeleting(undefined)}>
                Cancel
              </Button>
              <Button
                color="red"
                data-testid="trail-delete-confirm"
                onClick={() => {
                  const name = deleting.TrailARN ?? deleting.Name ?? '';
                  setDeleting(undefined);
                  void act(() => client.send(new DeleteTrailCommand({ Name: name })));
                }}
              >
                Delete
              </Button>
            </Group>
          </Stack>
        </Modal>
      )}
      {selectors && <SelectorsEditor client={client} trail={selectors} onClose={() => setSelectors(undefined)} />}
    </Stack>
  );
}
