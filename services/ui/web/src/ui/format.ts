/** `sha256:abcdef…` shortened for a table; the full value goes in a title. */
export function shortDigest(digest: string | null | undefined, keep = 12): string {
  if (!digest) return '—';
  const hex = digest.startsWith('sha256:') ? digest.slice(7) : digest;
  return `${digest.startsWith('sha256:') ? 'sha256:' : ''}${hex.slice(0, keep)}…`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** An ISO time as the local time of day (with the date when it is not today). */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`;
}
