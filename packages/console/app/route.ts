import { useEffect, useState } from 'react';

/** Hash routes (`#/events?Username=alice`): a static app under /console needs no server routes. */
export const PAGES = [
  { path: 'events', title: 'Event history' },
  { path: 'resource', title: 'Resource timeline' },
  { path: 'trails', title: 'Trails' },
  { path: 'alerts', title: 'Alerts' },
  { path: 'overview', title: 'Overview' },
  { path: 'lake', title: 'Lake queries' },
] as const;
export type PagePath = (typeof PAGES)[number]['path'];

export interface Route {
  page: PagePath;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const q = text.indexOf('?');
  const path = q < 0 ? text : text.slice(0, q);
  const page = PAGES.find((p) => p.path === path)?.path ?? 'events';
  return { page, params: new URLSearchParams(q < 0 ? '' : text.slice(q + 1)) };
}

export function href(page: PagePath, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `#/${page}${query ? `?${query}` : ''}`;
}

export function useRoute(): Route {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parseRoute(hash);
}
