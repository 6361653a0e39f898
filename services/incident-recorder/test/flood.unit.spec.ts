import { beforeAll, describe, expect, it } from 'vitest';
import type { EventData } from '@secai/contracts';
import {
  classify,
  defaultIncidentPolicy,
  initialFloodState,
  observeRefusal,
  offenderOf,
  type FloodState,
  type IncidentPolicy,
  type ObservedEvent,
} from '../src/index.js';

// The refusal-flood rule (issue 10 §1): pure, given refusals recorded so far, when one more is
// recorded, then the observations it stands for.

let policy: IncidentPolicy;
beforeAll(async () => {
  policy = (await defaultIncidentPolicy()).policy;
});

const SELF = 'incident-recorder';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');

let n = 0;
/** A `security.envelope.rejected` recorded by `recorder` for the message stored at `seq`. */
function refusal(
  natsSubject: string,
  seq: number | null,
  atMs: number,
  recorder = SELF,
): ObservedEvent {
  n++;
  const data: EventData<'security.envelope.rejected'> = {
    consumer: 'incident-recorder-observations',
    code: 'ENVELOPE_MALFORMED',
    reason: 'not an envelope',
    natsSubject,
    streamSeq: seq,
    envelopeDigest: `sha256:${'0'.repeat(64)}`,
    claimed: {},
  };
  return {
    id: `rej-${n}`,
    type: 'security.envelope.rejected',
    source: `secai://${recorder}`,
    subject: `service/${recorder}`,
    time: new Date(T0 + atMs).toISOString(),
    correlationId: `corr-${n}`,
    data,
  };
}

/** Feeds `count` refusals of consecutive stored messages, `everyMs` apart; the last result. */
function flood(
  state: FloodState,
  natsSubject: string,
  count: number,
  options: { fromSeq?: number; everyMs?: number; startMs?: number } = {},
) {
  const out = [];
  for (let i = 0; i < count; i++)
    out.push(
      observeRefusal(
        state,
        refusal(
          natsSubject,
          (options.fromSeq ?? 1) + i,
          (options.startMs ?? 0) + i * (options.everyMs ?? 10),
        ),
        policy,
        SELF,
      ),
    );
  return out;
}

describe('who published a stored message (the subject, never the envelope)', () => {
  it('a service subject is that service, an aggregate its only emitter', () => {
    expect(offenderOf('secai.evt.service.ui')).toBe('ui');
    expect(offenderOf('secai.evt.attestation.appliance')).toBe('runtime-attestor');
    expect(offenderOf('secai.evt.integrity.policy_file')).toBe('integrity-monitor');
    expect(offenderOf('secai.evt.decision.d-1')).toBe('policy-engine');
  });

  it('names no one where no single identity publishes, or outside event subjects', () => {
    expect(offenderOf('secai.evt.model.ab')).toBeNull(); // registry and inference
    expect(offenderOf('secai.evt.identity.ui')).toBeNull(); // the appliance alone
    expect(offenderOf('secai.evt.service.appliance')).toBeNull();
    expect(offenderOf('secai.evt.service.nobody')).toBeNull();
    expect(offenderOf('secai.cmd.incident-recorder.resolve')).toBeNull();
    expect(offenderOf('secai.evt.service.ui.extra')).toBeNull();
  });
});

describe('refusal floods', () => {
  it('given 99 refusals from ui within the window, when the 100th is recorded, then a bus_abuse observation about identity/ui', () => {
    const state = initialFloodState();
    const results = flood(state, 'secai.evt.service.ui', 100);
    expect(results.slice(0, 99).every((r) => r.length === 0)).toBe(true);
    expect(results[99]).toEqual([
      expect.objectContaining({
        class: 'bus_abuse',
        severity: 'high',
        subject: 'identity/ui',
        reportedBy: SELF,
        causeId: `rej-${n}`,
      }),
    ]);
    expect(results[99]![0]!.causeIds).toHaveLength(32);
    expect(results[99]![0]!.description).toMatch(/100 refused envelopes within 10 s .*only ui/);
  });

  it('then every further refusal in the window is an observation of the same incident subject', () => {
    const state = initialFloodState();
    const results = flood(state, 'secai.evt.service.ui', 150);
    expect(results.slice(100).every((r) => r[0]?.subject === 'identity/ui')).toBe(true);
  });

  it('given refusals spread wider than the window, then nothing', () => {
    const state = initialFloodState();
    // One every 200 ms: at most 50 in any 10 s.
    const results = flood(state, 'secai.evt.service.ui', 300, { everyMs: 200 });
    expect(results.every((r) => r.length === 0)).toBe(true);
  });

  it('counts each identity apart', () => {
    const state = initialFloodState();
    flood(state, 'secai.evt.service.ui', 60);
    const other = flood(state, 'secai.evt.service.agent', 60, { fromSeq: 1000 });
    expect(other.every((r) => r.length === 0)).toBe(true);
    const more = flood(state, 'secai.evt.service.ui', 40, { fromSeq: 2000, startMs: 600 });
    expect(more[39]).toEqual([expect.objectContaining({ subject: 'identity/ui' })]);
  });

  it('counts a message recorded twice (redelivered after a crash) once', () => {
    const state = initialFloodState();
    for (let i = 0; i < 150; i++)
      expect(observeRefusal(state, refusal('secai.evt.service.ui', 7, i), policy, SELF)).toEqual(
        [],
      );
  });

  it('ignores refusals recorded by another service: a compromised one could frame any identity', () => {
    const state = initialFloodState();
    for (let i = 0; i < 150; i++)
      expect(
        observeRefusal(
          state,
          refusal('secai.evt.attestation.appliance', i + 1, i, 'registry'),
          policy,
          SELF,
        ),
      ).toEqual([]);
  });

  it('ignores refused commands (no stored message, no single sender)', () => {
    const state = initialFloodState();
    for (let i = 0; i < 150; i++)
      expect(
        observeRefusal(
          state,
          refusal('secai.cmd.incident-recorder.resolve', null, i),
          policy,
          SELF,
        ),
      ).toEqual([]);
  });

  it('a flood on a subject no single identity publishes on names identity/unknown (nothing to revoke)', () => {
    const state = initialFloodState();
    const results = flood(state, 'secai.evt.model.ab', 100);
    expect(results[99]).toEqual([expect.objectContaining({ subject: 'identity/unknown' })]);
  });

  it('switched off (refusal_flood: null), nothing', () => {
    const state = initialFloodState();
    const off = { ...policy, refusalFlood: null };
    for (let i = 0; i < 150; i++)
      expect(observeRefusal(state, refusal('secai.evt.service.ui', i + 1, i), off, SELF)).toEqual(
        [],
      );
  });

  it('below the threshold a refusal stays an envelope_rejected observation (classify)', () => {
    const o = classify(refusal('secai.evt.service.ui', 1, 0), policy);
    expect(o).toMatchObject({ class: 'unauthorized_access' });
  });
});
