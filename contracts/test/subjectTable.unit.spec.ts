import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { AUTHORITY, catalogue, eventSubject, type EventType } from '../src/index.js';

// The README's type → subject table is rendered from the catalogue and the authority table; this
// test keeps the two in step, so the table a reader trusts is the one the code uses.
function renderTable(): string {
  const rows = (Object.keys(catalogue) as EventType[]).map((type) => {
    const aggregate = catalogue[type].aggregate;
    const emitters = AUTHORITY[type];
    const who = emitters === 'every-service' ? 'every service (its own)' : emitters.join(', ');
    const id = aggregate === 'service' ? '<service>' : '<id>';
    return `| \`${type}\` | \`${aggregate}\` | \`${eventSubject(aggregate, id)}\` | ${who} |`;
  });
  return ['| type | aggregate | subject | emitter |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}

describe('the type → subject table in contracts/README.md', () => {
  it('lists every event type with its aggregate, subject and emitter, as the catalogue says', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('<!-- subjects:begin -->');
    const end = readme.indexOf('<!-- subjects:end -->');
    expect(start, 'subjects:begin marker').toBeGreaterThan(0);
    const table = readme.slice(start + '<!-- subjects:begin -->'.length, end).trim();
    expect(table).toBe(renderTable());
  });
});
