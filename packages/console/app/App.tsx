import { Button, NavLink, Stack, Text } from '@mantine/core';
import { useMemo, useState } from 'react';
import { ApiClient, loadCredentials, saveCredentials, type Credentials } from './api';
import { AlertsPage } from './pages/AlertsPage';
import { EventHistoryPage } from './pages/EventHistoryPage';
import { LakePage } from './pages/LakePage';
import { OverviewPage } from './pages/OverviewPage';
import { ResourcePage } from './pages/ResourcePage';
import { SignInPage } from './pages/SignInPage';
import { TrailsPage } from './pages/TrailsPage';
import { href, PAGES, useRoute } from './route';

export function App() {
  const [credentials, setCredentials] = useState<Credentials | undefined>(loadCredentials);
  const client = useMemo(() => (credentials ? new ApiClient(credentials) : undefined), [credentials]);
  const route = useRoute();

  if (!client || !credentials) {
    return (
      <SignInPage
        onSignIn={(c) => {
          saveCredentials(c);
          setCredentials(c);
        }}
      />
    );
  }
  return (
    <div className="ot-shell">
      <nav className="ot-nav" aria-label="Pages">
        <div className="ot-brand">opentrail</div>
        {PAGES.map((p) => (
          <NavLink key={p.path} href={href(p.path)} label={p.title} active={route.page === p.path} data-testid={`nav-${p.path}`} />
        ))}
        <Stack gap="xs" mt="xl">
          <Text size="xs" c="dimmed">
            Signed in as {credentials.accessKeyId} ({credentials.region})
          </Text>
          <Button
            variant="default"
            size="xs"
            onClick={() => {
              saveCredentials(undefined);
              setCredentials(undefined);
            }}
          >
            Sign out
          </Button>
        </Stack>
      </nav>
      <main className="ot-main">
        {route.page === 'events' && <EventHistoryPage client={client} params={route.params} />}
        {route.page === 'resource' && <ResourcePage client={client} params={route.params} />}
        {route.page === 'trails' && <TrailsPage client={client} />}
        {route.page === 'alerts' && <AlertsPage client={client} />}
        {route.page === 'overview' && <OverviewPage client={client} />}
        {route.page === 'lake' && <LakePage client={client} />}
      </main>
    </div>
  );
}
