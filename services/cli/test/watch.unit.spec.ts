import { afterEach, describe, expect, it, vi } from 'vitest';
import { signEvent, type CloudEvent } from '@secai/contracts';
import { createTestPki } from '@secai/contracts/testing';
import { verdictOf } from '../src/watch/verdict.js';
import {
  RECENT_LIMIT,
  foldRefused,
  foldVerified,
  initialWatchState,
  openIncidentsBySeverity,
  withSealCheck,
  type WatchState,
} from '../src/watch/fold.js';
import {
  describeAttestation,
  eventLine,
  renderFrame,
  type WatchMeta,
} from '../src/watch/render.js';
import { throttle } from '../src/watch/screen.js';
import { SealChecker } from '../src/watch/seals.js';
import { GENESIS_HEAD, chainLink, entryDigest } from '@secai/projections';
import { ansi, cut, fit, plain, safe, type Line } from '../src/watch/text.js';

// `secai watch`'s pure parts: the fold (verified events in, overview out; refused envelopes
// only ever reach the pane), the render (state in, lines of exactly the screen's width out), the
// text guards against forged claims, and the verdict of real signed bytes.

let n = 0;
function ev(type: string, subject: string, data: unknown, source = 'registry'): CloudEvent {
  n++;
  return {
    specversion: '1.0',
    id: `0190a000-0000-7000-8000-${String(n).padStart(12, '0')}`,
    source: `secai://${source}`,
    type,
    subject,
    time: `2026-12-07T10:00:${String(n % 60).padStart(2, '0')}.000Z`,
    datacontenttype: 'application/json',
    dataschema: `urn:secai:event:${type}:v1`,
    data,
    correlationid: 'c',
  };
}

function fold(events: CloudEvent[], state = initialWatchState()): WatchState {
  return events.reduce((s, event, i) => foldVerified(s, { seq: i + 1, event }), state);
}

const meta: WatchMeta = {
  appliance: '/var/lib/secai',
  natsUrl: 'nats://127.0.0.1:4280',
  bus: 'connected',
  history: { status: 'done', read: 3, refused: 0 },
  trust: { source: 'kv', rootKeyid: 'ab'.repeat(32) },
};
const NOW = new Date('2026-12-07T10:01:00.000Z');
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x1f\x7f\u202e]/;
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;
const text = (lines: Line[]) => lines.map(plain).join('\n');

describe('watch fold', () => {
  it('service states come from the service-status projection (started, stopped, failed by the supervisor)', () => {
    const s = fold([
      ev('service.started', 'service/registry', { service: 'registry', pid: 7, version: '1' }),
      ev('service.started', 'service/agent', { service: 'agent', pid: 8, version: '1' }, 'agent'),
      ev('service.stopped', 'service/agent', { service: 'agent', pid: 8, reason: 'x' }, 'agent'),
      ev('service.failed', 'service/appliance', { service: 'inference' }, 'appliance'),
    ]);
    expect(s.services.services.registry?.status).toBe('running');
    expect(s.services.services.registry?.pid).toBe(7);
    expect(s.services.services.agent?.status).toBe('stopped');
    expect(s.services.services.inference?.status).toBe('failed');
  });

  it('a refused envelope reaches the pane and the count, and nothing else', () => {
    const before = fold([
      ev('service.started', 'service/registry', { service: 'registry', pid: 7, version: '1' }),
    ]);
    const after = foldRefused(before, {
      seq: null,
      code: 'SIGNATURE_INVALID',
      natsSubject: 'secai.evt.service.registry',
      receivedAt: NOW.toISOString(),
      claims: { type: 'service.stopped', subject: 'service/registry', source: 'secai://registry' },
    });
    expect({ ...after, recent: before.recent, counts: before.counts }).toEqual(before);
    expect(after.counts).toEqual({ verified: 1, refused: 1 });
    expect(after.recent.at(-1)).toMatchObject({ verdict: 'REFUSED', code: 'SIGNATURE_INVALID' });
  });

  it('open incidents by severity follow opening, escalation and resolution', () => {
    const opened = (id: string, severity: string) =>
      ev(
        'incident.opened',
        `incident/${id}`,
        { incidentId: id, class: 'integrity_violation', severity },
        'incident-recorder',
      );
    const s = fold([
      opened('a', 'high'),
      opened('b', 'low'),
      opened('c', 'medium'),
      ev('incident.escalated', 'incident/b', { incidentId: 'b', from: 'low', to: 'critical' }),
      ev('incident.contained', 'incident/a', { incidentId: 'a', actions: [] }),
      ev('incident.resolved', 'incident/c', { incidentId: 'c' }),
      // A step of an incident opened before what was read is not guessed at.
      ev('incident.escalated', 'incident/zz', { incidentId: 'zz', from: 'low', to: 'high' }),
    ]);
    expect(openIncidentsBySeverity(s.incidents)).toEqual([
      { severity: 'critical', count: 1 },
      { severity: 'high', count: 1 },
      { severity: 'medium', count: 0 },
      { severity: 'low', count: 0 },
    ]);
    expect(s.incidents.a?.state).toBe('contained');
    expect(s.incidents.zz).toBeUndefined();
  });

  it('models available: stored, then contained or removed ones leave the list', () => {
    const stored = (hex: string, name: string) =>
      ev('model.stored', `model/${hex}`, {
        name,
        format: 'gguf',
        sizeBytes: 1,
        digest: `sha256:${hex}`,
        storePath: `registry/store/${hex}`,
        fromArtifact: hex,
      });
    const [a, b, c] = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)];
    const s = fold([
      stored(a, 'alpha'),
      stored(b, 'beta'),
      stored(c, 'gamma'),
      ev('model.contained', `model/${b}`, { reason: 'incident' }),
      ev('model.removed', `model/${c}`, {}),
    ]);
    const frame = text(renderFrame(s, meta, NOW, { width: 160, height: 50 }));
    expect(frame).toContain('MODELS AVAILABLE (1)');
    expect(frame).toContain('alpha');
    expect(frame).not.toContain('beta');
  });

  it('integrity per path class and the newest seal (a late older seal does not win)', () => {
    const seal = (fromSeq: number, toSeq: number) =>
      ev(
        'audit.checkpoint.sealed',
        'audit/chain',
        {
          fromSeq,
          toSeq,
          count: toSeq - fromSeq + 1,
          head: 'f'.repeat(64),
          previousHead: '0'.repeat(64),
        },
        'incident-recorder',
      );
    const s = fold([
      ev('integrity.baseline.created', 'integrity/policy_file', { pathClass: 'policy_file' }),
      ev('integrity.state.changed', 'integrity/model_file', {
        pathClass: 'model_file',
        from: 'ok',
        to: 'recovery_required',
        violationCount: 2,
      }),
      seal(1, 100),
      seal(101, 200),
      seal(1, 50),
    ]);
    expect(s.integrity.policy_file?.state).toBe('ok');
    expect(s.integrity.model_file).toMatchObject({ state: 'recovery_required', violationCount: 2 });
    expect(s.lastSeal).toMatchObject({ fromSeq: 101, toSeq: 200 });
    const frame = text(renderFrame(s, meta, NOW, { width: 160, height: 50 }));
    expect(frame).toMatch(/model_file\s+recovery_required \(2 violations\)/);
    expect(frame).toContain('seq 101-200 (100 events)');
  });

  it("a seal's head is checked against the chain recomputed from the entries read", () => {
    const bytes = [1, 2, 3].map((i) => new TextEncoder().encode(`entry ${i}`));
    let head = GENESIS_HEAD;
    const heads = bytes.map((b, i) => (head = chainLink(head, i + 1, b)));
    const checker = new SealChecker();
    bytes.forEach((b, i) => checker.add(i + 1, entryDigest(b)));
    expect(checker.check({ toSeq: 2, head: heads[1]! })).toBe('chain-verified');
    expect(checker.check({ toSeq: 3, head: heads[1]! })).toBe('chain-mismatch');
    // Heads before the last seal checked are forgotten; the rest of the chain still holds.
    expect(checker.check({ toSeq: 1, head: heads[0]! })).toBe('not-checked');

    // A history that does not start at 1 cannot be chained from the genesis head.
    const trimmed = new SealChecker();
    trimmed.add(5, entryDigest(bytes[0]!));
    expect(trimmed.check({ toSeq: 5, head: heads[0]! })).toBe('not-checked');

    const seal = ev(
      'audit.checkpoint.sealed',
      'audit/chain',
      { fromSeq: 1, toSeq: 2, count: 2, head: heads[1], previousHead: GENESIS_HEAD },
      'incident-recorder',
    );
    const s = withSealCheck(fold([seal]), 2, 'chain-verified');
    expect(text(renderFrame(s, meta, NOW, { width: 200, height: 50 }))).toMatch(
      /Last seal: +seq 1-2 \(2 events\), head [0-9a-f]{16}…, .*chain verified/,
    );
    const bad = withSealCheck(fold([seal]), 2, 'chain-mismatch');
    expect(text(renderFrame(bad, meta, NOW, { width: 200, height: 50 }))).toContain(
      'HEAD DOES NOT MATCH THE STORED CHAIN',
    );
  });

  it('keeps the newest RECENT_LIMIT rows, oldest first', () => {
    const events = Array.from({ length: RECENT_LIMIT + 5 }, (_, i) =>
      ev('service.started', 'service/registry', { service: 'registry', pid: i, version: '1' }),
    );
    const s = fold(events);
    expect(s.recent).toHaveLength(RECENT_LIMIT);
    expect(s.recent[0]).toMatchObject({ seq: 6 });
    expect(s.recent.at(-1)).toMatchObject({ seq: RECENT_LIMIT + 5 });
  });
});

describe('watch attestation line', () => {
  const result = (type: string, mode: string, extra: object = {}) =>
    ev(
      type,
      'attestation/host',
      {
        host: 'host',
        mode,
        policySatisfied: type === 'attestation.verified',
        evidenceVerified: mode === 'hardware' && type === 'attestation.verified',
        ...extra,
      },
      'runtime-attestor',
    );

  it('says UNATTESTED plainly unless a hardware attestation verified', () => {
    expect(describeAttestation(null).text).toMatch(/^UNATTESTED/);
    const dev = fold([
      ev(
        'attestation.development_mode.declared',
        'attestation/host',
        {
          host: 'host',
          mode: 'software',
          detail: 'no TPM',
        },
        'runtime-attestor',
      ),
      result('attestation.degraded', 'software', { reasons: ['software_mode: no TPM'] }),
    ]).attestation;
    const devLine = describeAttestation(dev);
    expect(devLine.text).toMatch(/^UNATTESTED \(development mode, host host\): no TPM/);
    expect(devLine.style).toBe('red');
    // What the attestor records on a host without a TPM (as `secai boot` reads it): a failed
    // software run whose only reasons are software mode's own is development mode, not a failure.
    const undeclared = fold([
      result('attestation.failed', 'software', {
        reasons: ['software_mode: no TPM', 'mode_insufficient: policy requires evaluation'],
      }),
    ]).attestation;
    expect(describeAttestation(undeclared).text).toMatch(/^UNATTESTED \(development mode/);
    const other = fold([
      result('attestation.failed', 'software', { reasons: ['quote_invalid: bad quote'] }),
    ]).attestation;
    expect(describeAttestation(other).text).toMatch(
      /^UNATTESTED \(software mode, host host\): no TPM, nothing is measured; quote_invalid: bad quote/,
    );
    const failed = fold([result('attestation.failed', 'hardware', { reasons: ['quote: bad'] })]);
    expect(describeAttestation(failed.attestation).text).toMatch(
      /^ATTESTATION FAILED \(hardware mode.*quote: bad/,
    );
    const evaluation = fold([result('attestation.verified', 'evaluation')]);
    expect(describeAttestation(evaluation.attestation).text).toMatch(/evaluation mode/);
    const hardware = fold([result('attestation.verified', 'hardware')]);
    const hardwareLine = describeAttestation(hardware.attestation);
    expect(hardwareLine.text).toMatch(/^attested \(hardware mode/);
    expect(hardwareLine.style).toBe('green');
  });
});

describe('watch render', () => {
  const busy = fold([
    ev('service.started', 'service/registry', { service: 'registry', pid: 7, version: '1' }),
  ]);

  it('every line is exactly the width, never more lines than the height, at any size', () => {
    for (const [width, height] of [
      [160, 50],
      [80, 24],
      [40, 10],
      [200, 12],
    ] as const) {
      const lines = renderFrame(busy, meta, NOW, { width, height });
      expect(lines.length).toBeLessThanOrEqual(height);
      for (const l of lines) expect(Array.from(plain(l))).toHaveLength(width);
    }
  });

  it('shows every service, side by side with the other panels when wide, stacked when narrow', () => {
    const wide = renderFrame(busy, meta, NOW, { width: 160, height: 50 }).map(plain);
    expect(wide.find((l) => l.startsWith('registry'))).toMatch(
      /^registry\s+running\s+7\s+service\.started/,
    );
    expect(wide.some((l) => l.startsWith('SERVICES') && l.includes('OPEN INCIDENTS (0)'))).toBe(
      true,
    );
    expect(wide.some((l) => /^gpu-integrity-watch\s+not seen/.test(l))).toBe(true);
    const narrow = renderFrame(busy, meta, NOW, { width: 100, height: 80 }).map(plain);
    expect(narrow.some((l) => l.startsWith('OPEN INCIDENTS (0)'))).toBe(true);
  });

  it('the event pane keeps a header and rows even when the overview does not fit', () => {
    const lines = renderFrame(busy, meta, NOW, { width: 120, height: 12 }).map(plain);
    expect(lines.some((l) => l.startsWith('EVENTS (live'))).toBe(true);
    expect(lines.some((l) => /VERIFIED\s+service\.started/.test(l))).toBe(true);
  });

  it('a refused row shows its code and marks what it claims as unverified', () => {
    const line = plain(
      eventLine({
        verdict: 'REFUSED',
        seq: 12,
        code: 'KEY_UNKNOWN',
        receivedAt: '2026-12-07T10:00:30.000Z',
        natsSubject: 'secai.evt.service.registry',
        claims: { type: 'service.started', source: 'secai://registry' },
      }),
    );
    expect(line).toMatch(
      /^10:00:30\s+12\s+REFUSED KEY_UNKNOWN\s+on secai\.evt\.service\.registry; unverified claims: type service\.started/,
    );
    expect(line).not.toContain('VERIFIED ');
  });

  it('nothing a forged envelope claims can reach the terminal as a control sequence', () => {
    const evil = '\x1b[2J\x1b]0;owned\x07\u202eevil\r\n';
    const s = foldRefused(initialWatchState(), {
      seq: null,
      code: 'SIGNATURE_INVALID',
      natsSubject: 'secai.evt.service.registry',
      receivedAt: evil,
      claims: { type: evil, subject: evil, source: evil, keyid: evil },
    });
    const lines = renderFrame(s, { ...meta, appliance: evil }, NOW, { width: 300, height: 50 });
    for (const l of lines) {
      expect(plain(l)).not.toMatch(CONTROLS);
      // With colour on, the only escapes are the renderer's own SGR codes.
      expect(ansi(l).replace(SGR, '')).not.toContain('\x1b');
    }
  });
});

describe('watch text', () => {
  it('cuts on code points with an ellipsis, pads to the width, and makes controls visible', () => {
    expect(cut('abcdef', 4)).toBe('abc…');
    expect(cut('😀😀😀', 2)).toBe('😀…');
    expect(fit('ab', 4)).toBe('ab  ');
    expect(safe('a\x1bb\u200bc')).toBe('a?b?c');
  });
});

describe('watch verdicts', () => {
  it('verifies real signed bytes, and refuses a tampered payload with its code and claims', async () => {
    const pki = await createTestPki();
    const { bytes } = signEvent(
      {
        type: 'service.started',
        aggregateId: 'registry',
        data: {
          service: 'registry',
          version: '1',
          pid: 9,
          configDigest: `sha256:${'a'.repeat(64)}`,
        },
      },
      pki.signerFor('registry'),
      { now: new Date() },
    );
    const at = {
      seq: null,
      natsSubject: 'secai.evt.service.registry',
      typeHeader: 'service.started',
    };
    expect(verdictOf(bytes, pki.trust, at)).toMatchObject({
      ok: true,
      event: { type: 'service.started' },
    });
    // The same envelope on another subject: the subject is part of what was signed.
    expect(
      verdictOf(bytes, pki.trust, { ...at, natsSubject: 'secai.evt.service.agent' }),
    ).toMatchObject({ ok: false, code: 'SUBJECT_MISMATCH' });

    const env = JSON.parse(new TextDecoder().decode(bytes)) as { payload: string };
    const payload = JSON.parse(Buffer.from(env.payload, 'base64').toString()) as {
      data: { pid: number };
    };
    payload.data.pid = 10;
    env.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
    const tampered = new TextEncoder().encode(JSON.stringify(env));
    expect(verdictOf(tampered, pki.trust, at)).toMatchObject({
      ok: false,
      code: 'SIGNATURE_INVALID',
      natsSubject: 'secai.evt.service.registry',
      claims: { type: 'service.started', subject: 'service/registry', source: 'secai://registry' },
    });
    expect(verdictOf(new TextEncoder().encode('not json'), pki.trust, at)).toMatchObject({
      ok: false,
      code: 'ENVELOPE_MALFORMED',
      claims: {},
    });
  });
});

describe('watch redraw throttle', () => {
  afterEach(() => vi.useRealTimers());

  it('draws a burst once, and the last request is always drawn', () => {
    vi.useFakeTimers();
    const draw = vi.fn();
    const t = throttle(draw, 100);
    for (let i = 0; i < 50; i++) t.request();
    vi.advanceTimersByTime(0);
    expect(draw).toHaveBeenCalledTimes(1);
    t.request();
    vi.advanceTimersByTime(99);
    expect(draw).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(draw).toHaveBeenCalledTimes(2);
  });
});
