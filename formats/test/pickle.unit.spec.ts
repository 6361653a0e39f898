import { describe, expect, it } from 'vitest';
import { classifyPickleGlobal, findEmbeddedPickles, scanPickle } from '../src/index.js';
import {
  buildTorchZip,
  concatBytes,
  PICKLES,
  seededBytes,
  seededRandom,
  truncatedPickle,
} from '../src/testing/fixtures.js';

describe('scanPickle', () => {
  it('flags os.system imported through protocol-0 GLOBAL and called by REDUCE', () => {
    const r = scanPickle(PICKLES.osSystemGlobal);
    expect(r.verdict).toBe('malicious');
    expect(r.protocol).toBe(0);
    expect(r.complete).toBe(true);
    expect(r.globals).toEqual([
      { module: 'os', name: 'system', risk: 'dangerous', via: 'GLOBAL', offset: 0 },
    ]);
    expect(r.findings.map((f) => f.code)).toEqual(['dangerous_import', 'call']);
    expect(r.calls.REDUCE).toBe(1);
  });

  it('resolves STACK_GLOBAL from the preceding SHORT_BINUNICODE strings (protocol 4, framed)', () => {
    const r = scanPickle(PICKLES.osSystemStackGlobal);
    expect(r).toMatchObject({ protocol: 4, verdict: 'malicious', complete: true });
    expect(r.globals[0]).toMatchObject({ module: 'os', name: 'system', via: 'STACK_GLOBAL' });
  });

  it('follows the memo: strings put, popped and fetched back still resolve', () => {
    const r = scanPickle(PICKLES.memoStackGlobal);
    expect(r.verdict).toBe('malicious');
    expect(r.globals[0]).toMatchObject({ module: 'posix', name: 'system' });
  });

  it('flags builtins.eval called with REDUCE', () => {
    const r = scanPickle(PICKLES.builtinsEvalReduce);
    expect(r).toMatchObject({ protocol: 2, verdict: 'malicious' });
    expect(r.globals[0]).toMatchObject({ module: 'builtins', name: 'eval', risk: 'dangerous' });
    expect(r.findings).toContainEqual(
      expect.objectContaining({ code: 'call', detail: 'REDUCE invokes builtins.eval' }),
    );
  });

  it('flags INST of subprocess.check_output', () => {
    const r = scanPickle(PICKLES.subprocessInst);
    expect(r.verdict).toBe('malicious');
    expect(r.globals[0]).toMatchObject({ module: 'subprocess', name: 'check_output', via: 'INST' });
  });

  it('classifies the torch rebuild_tensor pickle as clean', () => {
    const r = scanPickle(PICKLES.torchRebuildTensor);
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ verdict: 'clean', complete: true, protocol: 2 });
    expect(r.globals.map((g) => `${g.module}.${g.name}:${g.risk}`)).toEqual([
      'torch._utils._rebuild_tensor_v2:safe',
      'torch.FloatStorage:safe',
      'collections.OrderedDict:safe',
    ]);
    expect(r.calls).toMatchObject({ REDUCE: 2, BINPERSID: 1 });
    expect(r.end).toBe(PICKLES.torchRebuildTensor.length);
  });

  it('classifies a plain protocol-0 list as clean', () => {
    expect(scanPickle(PICKLES.benignList)).toMatchObject({
      verdict: 'clean',
      globals: [],
      complete: true,
    });
  });

  it('marks truncated streams suspicious but keeps what it saw', () => {
    const r = scanPickle(truncatedPickle());
    expect(r.verdict).toBe('suspicious');
    expect(r.complete).toBe(false);
    expect(r.findings.map((f) => f.code)).toContain('truncated');
    // A truncated malicious stream stays malicious.
    const m = scanPickle(PICKLES.osSystemStackGlobal.subarray(0, 28));
    expect(m.verdict).toBe('malicious');
  });

  it('marks unresolvable STACK_GLOBAL, extension codes, unknown imports and garbage suspicious', () => {
    expect(scanPickle(PICKLES.unresolvedStackGlobal)).toMatchObject({ verdict: 'suspicious' });
    expect(scanPickle(PICKLES.unresolvedStackGlobal).findings.map((f) => f.code)).toContain(
      'unresolved_stack_global',
    );
    expect(scanPickle(PICKLES.extensionRegistry).findings.map((f) => f.code)).toContain(
      'extension_registry',
    );
    const unknown = scanPickle(concatBytes('cmypkg.evil\nThing\n)R.'));
    expect(unknown).toMatchObject({ verdict: 'suspicious' });
    expect(unknown.globals[0]?.risk).toBe('unknown');
    const garbage = scanPickle(Uint8Array.of(0x80, 0x02, 0xff, 0x00));
    expect(garbage.verdict).toBe('suspicious');
    expect(garbage.findings.map((f) => f.code)).toContain('unknown_opcode');
    expect(scanPickle(new Uint8Array()).verdict).toBe('suspicious');
    expect(scanPickle(Uint8Array.of(0x2e)).findings.map((f) => f.code)).toContain('malformed'); // STOP on empty stack
  });

  it('enforces its opcode budget and line bound', () => {
    const many = concatBytes(...new Array<string>(1000).fill('N0'), '.');
    expect(scanPickle(many, { maxOpcodes: 100 }).findings.map((f) => f.code)).toContain(
      'limit_exceeded',
    );
    const longLine = concatBytes('I', '1'.repeat(5000), '\n.');
    expect(scanPickle(longLine, { maxLine: 100 }).findings.map((f) => f.code)).toContain(
      'limit_exceeded',
    );
  });

  it('classifies the denylist and allowlist', () => {
    expect(classifyPickleGlobal('builtins', 'getattr')).toBe('dangerous');
    expect(classifyPickleGlobal('__builtin__', 'eval')).toBe('dangerous');
    expect(classifyPickleGlobal('nt', 'system')).toBe('dangerous');
    expect(classifyPickleGlobal('os.path', 'join')).toBe('dangerous');
    expect(classifyPickleGlobal('importlib.machinery', 'SourceFileLoader')).toBe('dangerous');
    expect(classifyPickleGlobal('runpy', '_run_code')).toBe('dangerous');
    expect(classifyPickleGlobal('builtins', 'set')).toBe('safe');
    expect(classifyPickleGlobal('torch', 'BFloat16Storage')).toBe('safe');
    expect(classifyPickleGlobal('torch', 'bfloat16')).toBe('safe');
    expect(classifyPickleGlobal('numpy.core.multiarray', '_reconstruct')).toBe('safe');
    expect(classifyPickleGlobal('torch._utils', '_rebuild_tensor_v2.__globals__')).toBe('unknown');
    expect(classifyPickleGlobal('osmosis', 'x')).toBe('unknown');
  });

  it('survives 300 seeded random mutations without throwing or hanging', () => {
    const rand = seededRandom(0x91c41e);
    const bases: Uint8Array[] = [...Object.values(PICKLES), truncatedPickle()];
    const verdicts = new Set<string>();
    for (let i = 0; i < 300; i += 1) {
      const base = bases[Math.floor(rand() * bases.length)] ?? new Uint8Array();
      let bytes: Uint8Array = Uint8Array.from(base);
      const kind = Math.floor(rand() * 3);
      if (kind === 0) {
        for (let k = 0; k < 1 + Math.floor(rand() * 6); k += 1) {
          bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        }
      } else if (kind === 1) {
        bytes = bytes.subarray(0, Math.floor(rand() * bytes.length));
      } else {
        const at = Math.floor(rand() * bytes.length);
        bytes = concatBytes(
          bytes.subarray(0, at),
          seededBytes(1 + Math.floor(rand() * 64), i + 1),
          bytes.subarray(at),
        );
      }
      const r = scanPickle(bytes);
      expect(['clean', 'suspicious', 'malicious']).toContain(r.verdict);
      verdicts.add(r.verdict);
      expect(() => findEmbeddedPickles(bytes)).not.toThrow();
    }
    expect(verdicts.size).toBeGreaterThan(1);
  });
});

describe('findEmbeddedPickles', () => {
  it('finds a PROTO-led stream inside other data, with its offset', () => {
    const bytes = concatBytes(
      seededBytes(500, 9).map((b) => b & 0x3f),
      PICKLES.osSystemStackGlobal,
      seededBytes(300, 4).map((b) => b & 0x3f),
    );
    const hits = findEmbeddedPickles(bytes);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ offset: 500, kind: 'proto' });
    expect(hits[0]?.scan?.verdict).toBe('malicious');
  });

  it('finds .pkl members of embedded zips, stored and deflated', () => {
    for (const deflate of [false, true]) {
      const zip = buildTorchZip(PICKLES.builtinsEvalReduce, deflate);
      const bytes = concatBytes(new Uint8Array(100), zip);
      const hits = findEmbeddedPickles(bytes).filter((h) => h.kind === 'zip-entry');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ zipOffset: 100, entryName: 'archive/data.pkl' });
      expect(hits[0]?.scan?.verdict).toBe('malicious');
    }
  });

  it('stays bounded on input engineered to start a candidate at every other byte', () => {
    const bytes = new Uint8Array(1 << 20);
    for (let i = 0; i < bytes.length; i += 2) bytes.set([0x80, 0x02], i);
    const hits = findEmbeddedPickles(bytes, { maxTotalOpcodes: 2_000_000 });
    expect(hits.at(-1)).toMatchObject({ unscanned: 'scan budget exhausted' });
  });

  it('finds nothing in random data', () => {
    expect(findEmbeddedPickles(seededBytes(1 << 20, 12345))).toEqual([]);
  });
});
