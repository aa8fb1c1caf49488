import { DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { Alert, Button, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { ApiClient, errorText, type Credentials } from '../api';

/** The user's access key, checked with one signed call before it is kept (sessionStorage only). */
export function SignInPage({ onSignIn }: { onSignIn: (c: Credentials) => void }) {
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secretAccessKey, setSecret] = useState('');
  const [region, setRegion] = useState('us-east-1');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    const c = { accessKeyId: accessKeyId.trim(), secretAccessKey, region: region.trim() };
    try {
      await new ApiClient(c).send(new DescribeTrailsCommand({}));
      onSignIn(c);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper className="ot-signin" withBorder p="xl" shadow="sm">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Stack>
          <Title order={2}>opentrail console</Title>
          <Text size="sm" c="dimmed">
            Sign in with an access key of the API. Requests are signed in this browser with Signature V4; the key stays in this tab&apos;s session storage only.
          </Text>
          <TextInput label="Access key ID" name="accessKeyId" value={accessKeyId} onChange={(e) => setAccessKeyId(e.currentTarget.value)} required autoComplete="username" />
          <PasswordInput label="Secret access key" name="secretAccessKey" value={secretAccessKey} onChange={(e) => setSecret(e.currentTarget.value)} required autoComplete="current-password" />
          <TextInput label="Region" name="region" value={region} onChange={(e) => setRegion(e.currentTarget.value)} required />
          {error && (
            <Alert color="red" title="Sign-in failed" data-testid="signin-error">
              {error}
            </Alert>
          )}
          <Button type="submit" loading={busy}>
            Sign in
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}
