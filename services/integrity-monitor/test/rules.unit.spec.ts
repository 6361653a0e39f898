import { describe, expect, it } from 'vitest';
import { applyGrace, modelDifferences, type ExpectedModel } from '../src/modelRules.js';
import {
  belongsTo,
  fixedPrefix,
  isAbovePattern,
  leadsTo,
  matchSegment,
  matchesPattern,
  minimalScope,
} from '../src/patterns.js';
import {
  contentFact,
  diffRecord,
  diffRecords,
  entriesDigest,
  printable,
  type FileRecord,
} from '../src/records.js';

const D1 = `sha256:${'11'.repeat(32)}`;
const D2 = `sha256:${'22'.repeat(32)}`;

const f = (path: string, over: Partial<FileRecord> = {}): FileRecord => ({
  path,
  type: 'file',
  digest: D1,
  size: 10,
  mode: '0644',
  owner: '0:0',
  target: null,
  ...over,
});
const dir = (path: string, over: Partial<FileRecord> = {}): FileRecord =>
  f(path, { type: 'dir', digest: null, size: 0, mode: '0755', ...over });
const link = (path: string, target: string): FileRecord =>
  f(path, { type: 'link', digest: null, size: 0, mode: '0777', target });

describe('diffRecord', () => {
  it('equal records do not differ', () => {
    expect(diffRecord('/a', f('/a'), f('/a'))).toEqual([]);
  });

  it('names each kind of change', () => {
    expect(diffRecord('/a', f('/a'), f('/a', { digest: D2, size: 11 }))).toEqual([
      { path: '/a', kind: 'modified', expected: D1, actual: D2 },
    ]);
    expect(diffRecord('/a', f('/a'), undefined)).toEqual([
      { path: '/a', kind: 'deleted', expected: D1, actual: null },
    ]);
    expect(diffRecord('/a', undefined, dir('/a'))).toEqual([
      { path: '/a', kind: 'added', expected: null, actual: 'directory' },
    ]);
    expect(diffRecord('/a', f('/a'), f('/a', { mode: '4755' }))).toEqual([
      { path: '/a', kind: 'mode', expected: '0644', actual: '4755' },
    ]);
    expect(diffRecord('/a', f('/a'), f('/a', { owner: '1000:1000' }))).toEqual([
      { path: '/a', kind: 'owner', expected: '0:0', actual: '1000:1000' },
    ]);
  });

  it('a link swapped in for a file, or retargeted, is a link violation', () => {
    expect(diffRecord('/a', f('/a'), link('/a', '/etc/shadow'))).toEqual([
      { path: '/a', kind: 'link', expected: D1, actual: '/etc/shadow' },
    ]);
    expect(diffRecord('/a', link('/a', '/x'), link('/a', '/y'))).toEqual([
      { path: '/a', kind: 'link', expected: '/x', actual: '/y' },
    ]);
    // A link's own mode means nothing on Linux.
    expect(diffRecord('/a', link('/a', '/x'), { ...link('/a', '/x'), mode: '0755' })).toEqual([]);
  });

  it('a file replaced by a directory is modified (and its mode is not compared)', () => {
    expect(diffRecord('/a', f('/a'), dir('/a'))).toEqual([
      { path: '/a', kind: 'modified', expected: D1, actual: 'directory' },
    ]);
  });

  it('an unreadable file differs from the readable one it was', () => {
    expect(diffRecord('/a', f('/a'), f('/a', { digest: null, error: 'EACCES' }))[0]).toMatchObject({
      kind: 'modified',
      actual: 'unreadable: EACCES',
    });
  });

  it('a directory deleted or added with its contents is one difference', () => {
    const base = new Map([
      ['/x', dir('/x')],
      ['/x/old', dir('/x/old')],
      ['/x/old/a', f('/x/old/a')],
      ['/x/old/b/c', f('/x/old/b/c')],
    ]);
    const now = new Map([
      ['/x', dir('/x')],
      ['/x/new', dir('/x/new')],
      ['/x/new/a', f('/x/new/a')],
    ]);
    expect(diffRecords(base, now).map((d) => `${d.kind} ${d.path}`)).toEqual([
      'added /x/new',
      'deleted /x/old',
      // Its parent /x/old/b was never baselined itself: reported on its own.
      'deleted /x/old/b/c',
    ]);
  });

  it('diffRecords compares within a scope only, sorted by path', () => {
    const base = new Map([
      ['/x/a', f('/x/a')],
      ['/x/b', f('/x/b')],
      ['/y/c', f('/y/c')],
    ]);
    const now = new Map([['/x/b', f('/x/b', { digest: D2 })]]);
    expect(diffRecords(base, now).map((d) => `${d.kind} ${d.path}`)).toEqual([
      'deleted /x/a',
      'modified /x/b',
      'deleted /y/c',
    ]);
    expect(diffRecords(base, now, ['/x/b']).map((d) => d.path)).toEqual(['/x/b']);
    expect(diffRecords(base, now, ['/x']).map((d) => d.path)).toEqual(['/x/a', '/x/b']);
  });
});

describe('facts', () => {
  it('are printable and bounded', () => {
    expect(printable('a\nb\x7f')).toBe('a\\x0ab\\x7f');
    expect(contentFact(link('/a', 'x'.repeat(2000))).length).toBe(512);
    expect(contentFact(f('/a', { type: 'other', digest: null }))).toBe('special file');
  });

  it('the entries digest covers every field and ignores order', () => {
    const a = [f('/a'), f('/b')];
    expect(entriesDigest(a)).toBe(entriesDigest([...a].reverse()));
    expect(entriesDigest(a)).not.toBe(entriesDigest([f('/a'), f('/b', { owner: '1:1' })]));
    expect(entriesDigest(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('patterns', () => {
  it('match one segment at a time; * and ? never cross /', () => {
    expect(matchSegment('secai*.service', 'secai-registry.service')).toBe(true);
    expect(matchSegment('secai*.service', 'other.service')).toBe(false);
    expect(matchSegment('?.pem', 'a.pem')).toBe(true);
    expect(matchSegment('a.b', 'aXb')).toBe(false);
    expect(matchesPattern('/opt/*/dist', '/opt/registry/dist')).toBe(true);
    expect(matchesPattern('/opt/*/dist', '/opt/a/b/dist')).toBe(false);
  });

  it('belong to a set below a root, unless excluded', () => {
    const set = { patterns: ['/opt/services/*/dist'], exclude: ['/opt/services/*/dist/cache'] };
    expect(belongsTo(set, '/opt/services/registry/dist')).toBe(true);
    expect(belongsTo(set, '/opt/services/registry/dist/lib/a.js')).toBe(true);
    expect(belongsTo(set, '/opt/services/registry/dist/cache/x')).toBe(false);
    expect(belongsTo(set, '/opt/services/registry/src/a.ts')).toBe(false);
    expect(leadsTo(set, '/opt/services/new')).toBe(true);
    expect(leadsTo(set, '/opt/services/registry/dist')).toBe(false);
    expect(isAbovePattern('/opt/services/*/dist', '/opt/other')).toBe(false);
    expect(fixedPrefix('/opt/services/*/dist')).toBe('/opt/services');
  });

  it('a scope keeps only the widest paths', () => {
    expect(minimalScope(['/a/b/c', '/a/b', '/a/bc', '/d'])).toEqual(['/a/b', '/a/bc', '/d']);
  });
});

describe('model store against the registry', () => {
  const root = '/s/registry/store';
  const hex = '11'.repeat(32);
  const model: ExpectedModel = {
    digest: D1,
    sizeBytes: 10,
    storePath: `sha256/${hex}/m.gguf`,
  };
  const modelPath = `${root}/sha256/${hex}/m.gguf`;
  const layout = (extra: FileRecord[] = []) =>
    new Map(
      [
        dir(root),
        dir(`${root}/sha256`),
        dir(`${root}/sha256/${hex}`, { mode: '0555' }),
        f(modelPath, { mode: '0444' }),
        ...extra,
      ].map((r) => [r.path, r]),
    );
  const hashed = (digest = D1) =>
    new Map([[D1, { kind: 'hashed' as const, digest, sizeBytes: 10 }]]);

  it('a store that matches the registry has no difference', () => {
    expect(
      modelDifferences([model], { storeRoot: root, records: layout(), artifacts: hashed() }),
    ).toEqual([]);
  });

  it('bytes that do not match the digest are modified', () => {
    expect(
      modelDifferences([model], { storeRoot: root, records: layout(), artifacts: hashed(D2) }),
    ).toEqual([{ path: modelPath, kind: 'modified', expected: D1, actual: D2 }]);
  });

  it('unregistered files and directories are added, at their topmost path', () => {
    const stray = `${root}/sha256/${'33'.repeat(32)}`;
    const records = layout([
      dir(stray),
      f(`${stray}/x.gguf`),
      f(`${root}/sha256/${hex}/extra.bin`, { mode: '0444' }),
      f(`${root}/notes.txt`),
    ]);
    expect(
      modelDifferences([model], { storeRoot: root, records, artifacts: hashed() }).map(
        (d) => `${d.kind} ${d.path} ${d.actual}`,
      ),
    ).toEqual([
      `added ${root}/notes.txt ${D1}`,
      `added ${root}/sha256/${hex}/extra.bin ${D1}`,
      `added ${stray} directory`,
    ]);
  });

  it('a missing model, a writable file, a link and a foreign owner are each reported', () => {
    const records = layout();
    records.delete(modelPath);
    expect(modelDifferences([model], { storeRoot: root, records, artifacts: new Map() })).toEqual([
      { path: modelPath, kind: 'deleted', expected: D1, actual: null },
    ]);
    const writable = layout([f(modelPath, { mode: '0644', owner: '1:1' })]);
    expect(
      modelDifferences([model], { storeRoot: root, records: writable, artifacts: hashed() }).map(
        (d) => d.kind,
      ),
    ).toEqual(['mode', 'owner']);
    const linked = layout([link(modelPath, '/tmp/evil.gguf')]);
    expect(
      modelDifferences([model], { storeRoot: root, records: linked, artifacts: new Map() }),
    ).toEqual([
      { path: modelPath, kind: 'link', expected: D1, actual: 'symlink -> /tmp/evil.gguf' },
    ]);
  });

  it('a world-writable sha256 directory is a mode violation', () => {
    const records = layout([dir(`${root}/sha256`, { mode: '0777' })]);
    expect(modelDifferences([model], { storeRoot: root, records, artifacts: hashed() })).toEqual([
      { path: `${root}/sha256`, kind: 'mode', expected: '0755', actual: '0777' },
    ]);
  });

  it('without a store, every expected model is missing', () => {
    expect(
      modelDifferences([model], { storeRoot: root, records: new Map(), artifacts: new Map() }),
    ).toEqual([{ path: modelPath, kind: 'deleted', expected: D1, actual: null }]);
  });

  it('differences wait out the grace period, unless already confirmed', () => {
    const d = { path: '/x', kind: 'added' as const, expected: null, actual: 'directory' };
    const first = applyGrace([d], new Map(), 1000, 500);
    expect(first.ready).toEqual([]);
    expect(first.recheckAt).toBe(1500);
    const later = applyGrace([d], first.firstSeen, 1600, 500);
    expect(later.ready).toEqual([d]);
    expect(later.recheckAt).toBeNull();
    expect(applyGrace([d], new Map(), 1000, 500, () => true).ready).toEqual([d]);
    // A difference that went away starts over.
    expect(applyGrace([], first.firstSeen, 1100, 500).firstSeen.size).toBe(0);
  });
});
