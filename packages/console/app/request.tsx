import { Alert } from '@mantine/core';
import { useState } from 'react';
import { errorText } from './api';

/**
 * A page's calls to the API: `busy` while one runs (its buttons show a spinner), `error` the text
 * of the last failure, cleared when the next call starts, so a page never shows a stale error.
 */
export function useRequest() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async (call: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await call();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

/** The error of a page's last call, where the page shows it (tests find it by its test id). */
export function ErrorAlert({ error }: { error: string | undefined }) {
  return error ? (
    <Alert color="red" data-testid="error">
      {error}
    </Alert>
  ) : null;
}
