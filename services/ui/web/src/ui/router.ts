import { useEffect, useState } from 'preact/hooks';

// History routing: page paths (`/events`) without reload. The UI service answers every page path
// with the same index.html, so a reload or a bookmark lands on the same page.

export const PAGES = [
  { path: '/', title: 'Overview', id: 'overview' },
  { path: '/events', title: 'Events', id: 'events' },
  { path: '/quarantine', title: 'Quarantine', id: 'quarantine' },
  { path: '/models', title: 'Models', id: 'models' },
  { path: '/incidents', title: 'Incidents', id: 'incidents' },
  { path: '/decisions', title: 'Decisions', id: 'decisions' },
  { path: '/account', title: 'Account', id: 'account' },
] as const;

export type PageId = (typeof PAGES)[number]['id'];

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, '', path);
  listeners.forEach((l) => l());
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return path;
}

export function pageOf(path: string): PageId {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return PAGES.find((p) => p.path === trimmed)?.id ?? 'overview';
}

/** A click on a link that should stay in the page (no modifier, left button). */
export function followInPage(event: MouseEvent, path: string): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(path);
}
