import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IllegalStateError, catalogue, schemaProblems } from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  attestationDecider,
  decide,
  initialState,
  evolve,
  isResultType,
  modeOf,
  outcomeOf,
  reasonCodes,
  verifyAnswer,
  type AttestCommand,
  type AttestationEvent,
  type AttestationState,
  type Evidence,
  type LatestResult,
} from '../src/index.js';
import {
  AK_DIGEST,
  BUNDLE,
  NONCE,
  OTHER_NONCE,
  ZERO,
  enrolment,
  goodEvidence,
  pcrValues,
  policy,
  quoteMessage,
} from './fixtures.js';

const spec = deciderSpec(attestationDecider);
const enrolled: AttestationEvent = { type: 'attestation.enrolled', data: enrolment() };

const attest = (over: Partial<AttestCommand> = {}): AttestCommand => ({
  type: 'attest',
  host: 'host-1',
  mode: 'evaluation',
  nonce: NONCE,
  requestedBy: null,
  policy: policy(),
  evidence: goodEvidence(),
  bundleDigest: BUNDLE,
  ...over,
});

const state = (...events: AttestationEvent[]): AttestationState =>
  events.reduce(evolve, initialState());

/**
 * The one event a run decides, checked against its contract schema; a run is never refused and
 * its decision names the outcome its event records.
 */
function only(command: AttestCommand, events: AttestationEvent[] = [enrolled]) {
  const decision = decide(command, state(...events));
  expect(decision.refusal).toBeUndefined();
  expect(decision.events).toHaveLength(1);
  const event = decision.events[0]!;
  expect(schemaProblems(catalogue[event.type].schema, event.data)).toEqual([]);
  if (isResultType(event.type)) expect(decision.outcome).toBe(outcomeOf(event.type));
  return event as Extract<
    AttestationEvent,
    { type: `attestation.${'verified' | 'degraded' | 'failed'}` }
  >;
}

const reasonsOf = (e: ReturnType<typeof only>) => ('reasons' in e.data ? e.data.reasons : []);

describe('enrolment', () => {
  it('records the first enrolment', () => {
    spec.given([]).when({ type: 'enrol', enrolment: enrolment() }).then([enrolled]);
  });

  it('records nothing when the same enrolment is announced again', () => {
    spec.given([enrolled]).when({ type: 'enrol', enrolment: enrolment() }).thenNothingHappened();
  });

  it('upgrades a software enrolment once a TPM answers', () => {
    const software = enrolment({
      mode: 'software',
      akDigest: null,
      pcrSelection: null,
      pcrBaseline: [],
      quotedPcrDigest: null,
    });
    spec
      .given([{ type: 'attestation.enrolled', data: software }])
      .when({ type: 'enrol', enrolment: enrolment() })
      .then([enrolled]);
  });

  it('refuses to replace a TPM baseline (re-enrolment is an operator action)', () => {
    spec
      .given([enrolled])
      .when({ type: 'enrol', enrolment: enrolment({ pcrBaseline: pcrValues('ff'.repeat(32)) }) })
      .thenThrows(IllegalStateError, (e) => /operator action/.test(e.message));
  });
});

describe('development mode (issue 9 §7)', () => {
  const software: AttestationEvent = {
    type: 'attestation.enrolled',
    data: enrolment({
      mode: 'software',
      akDigest: null,
      pcrSelection: null,
      pcrBaseline: [],
      quotedPcrDigest: null,
    }),
  };
  const declare = (mode: AttestCommand['mode']) =>
    ({ type: 'declare_development', host: 'host-1', mode, policy: policy() }) as const;

  it('a software host never enrolled with a TPM declares development mode', () => {
    const decision = decide(declare('software'), state(software));
    expect(decision.events).toHaveLength(1);
    const event = decision.events[0]!;
    expect(event.type).toBe('attestation.development_mode.declared');
    expect(schemaProblems(catalogue[event.type].schema, event.data)).toEqual([]);
    expect(event.data).toMatchObject({
      host: 'host-1',
      mode: 'software',
      require: policy().require,
    });
  });

  it('a host enrolled with a TPM is not in development mode when it runs without one', () => {
    spec.given([enrolled]).when(declare('software')).thenNothingHappened();
  });

  it('a host with a TPM declares nothing', () => {
    spec.given([enrolled]).when(declare('evaluation')).thenNothingHappened();
  });
});

describe('attestation of an enrolled host', () => {
  it('given a good quote: attestation.verified with every check', () => {
    spec
      .given([enrolled])
      .when(attest())
      .thenDecides({
        outcome: 'verified',
        events: [
          {
            type: 'attestation.verified',
            data: {
              host: 'host-1',
              mode: 'evaluation',
              nonce: NONCE,
              requestedBy: null,
              quoteDigest: `sha256:${createHash('sha256')
                .update(Buffer.from(quoteMessage({}), 'hex'))
                .digest('hex')}`,
              pcrDigest: enrolment().quotedPcrDigest,
              deploymentDigest: null,
              bundleDigest: BUNDLE,
              checks: {
                secureBoot: false,
                tpmAvailable: true,
                quoteVerified: true,
                measurementsVerified: true,
                deploymentVerified: false,
                releaseBaselineVerified: false,
              },
              evidenceVerified: false,
              policySatisfied: true,
            },
          },
        ],
      });
  });

  it('hardware with Secure Boot on: evidence verified', () => {
    const event = only(attest({ mode: 'hardware', evidence: goodEvidence({ secureBoot: true }) }), [
      { type: 'attestation.enrolled', data: enrolment({ mode: 'hardware' }) },
    ]);
    expect(event.type).toBe('attestation.verified');
    expect(event.data.evidenceVerified).toBe(true);
  });

  it('given a changed PCR 7: attestation.failed naming PCR 7 with both values', () => {
    const changed = 'ee'.repeat(32);
    const values = pcrValues(changed);
    const event = only(
      attest({
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: quoteMessage({ values: values.map((v) => v.value) }),
            check: { ok: true, failure: null, detail: 'verified' },
            pcrValues: values,
          },
        }),
      }),
    );
    expect(event.type).toBe('attestation.failed');
    expect(reasonsOf(event)).toEqual([
      `pcr_mismatch: PCR 7 (sha256) expected 0x${'a7'.repeat(32)} actual 0x${changed}`,
    ]);
    expect(event.data.checks).toMatchObject({ quoteVerified: true, measurementsVerified: false });
    expect(event.data.policySatisfied).toBe(false);
  });

  it('given a quote that answers another challenge: nonce_mismatch, failed', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: quoteMessage({ nonce: OTHER_NONCE }),
            check: { ok: false, failure: 'nonce', detail: 'Error validating nonce from quote' },
            // A refused checkquote lists nothing.
            pcrValues: [],
          },
        }),
      }),
    );
    expect(event.type).toBe('attestation.failed');
    expect(reasonCodes(reasonsOf(event))).toEqual(['nonce_mismatch']);
    expect(reasonsOf(event)[0]).toMatch(/replayed or forged/);
    expect(event.data.checks.quoteVerified).toBe(false);
  });

  it('catches a replayed quote even when checkquote was (wrongly) satisfied', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: quoteMessage({ nonce: OTHER_NONCE }),
            check: { ok: true, failure: null, detail: 'verified' },
            pcrValues: pcrValues(),
          },
        }),
      }),
    );
    expect(reasonCodes(reasonsOf(event))).toEqual(['nonce_mismatch']);
  });

  it('given a signature the enrolled key did not make: signature_invalid', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: quoteMessage({}),
            check: { ok: false, failure: 'signature', detail: 'Verify signature failed!' },
            pcrValues: [],
          },
        }),
      }),
    );
    expect(reasonCodes(reasonsOf(event))).toEqual(['signature_invalid']);
    expect(event.type).toBe('attestation.failed');
  });

  it('given listed values that do not match the signed digest: pcr_digest_mismatch', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: quoteMessage({}),
            check: { ok: true, failure: null, detail: 'verified' },
            pcrValues: pcrValues('ee'.repeat(32)),
          },
        }),
      }),
    );
    expect(reasonCodes(reasonsOf(event))).toEqual(['pcr_digest_mismatch']);
    expect(event.data.checks.measurementsVerified).toBe(false);
  });

  it('given checkquote refusing the PCR composite: one pcr_digest_mismatch', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: quoteMessage({}),
            check: {
              ok: false,
              failure: 'pcr_digest',
              detail: "PCR values failed to match quote's digest!",
            },
            pcrValues: [],
          },
        }),
      }),
    );
    expect(reasonCodes(reasonsOf(event))).toEqual(['pcr_digest_mismatch']);
  });

  it('given a quote over other PCRs or another bank: pcr_selection_mismatch', () => {
    for (const message of [quoteMessage({ pcrs: [0, 2, 4] }), quoteMessage({ bank: 0x0004 })]) {
      const event = only(
        attest({
          evidence: goodEvidence({
            quote: {
              status: 'taken',
              message,
              check: { ok: true, failure: null, detail: 'verified' },
              pcrValues: pcrValues(),
            },
          }),
        }),
      );
      expect(reasonCodes(reasonsOf(event))).toEqual(['pcr_selection_mismatch']);
    }
  });

  it('given bytes that are not a quote: quote_malformed', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: 'deadbeef',
            check: { ok: true, failure: null, detail: 'verified' },
            pcrValues: pcrValues(),
          },
        }),
      }),
    );
    expect(reasonCodes(reasonsOf(event))).toEqual(['quote_malformed']);
  });

  it('given another key at the handle: ak_changed, no quote trusted', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          ak: { status: 'changed', digest: `sha256:${'dd'.repeat(32)}` },
          quote: { status: 'skipped' },
        }),
      }),
    );
    expect(reasonCodes(reasonsOf(event))).toEqual(['ak_changed']);
    expect(reasonsOf(event)[0]).toContain(AK_DIGEST);
  });

  it('given a TPM that does not answer: tpm_unavailable', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          reachable: false,
          ak: { status: 'unavailable', detail: 'Cannot connect to swtpm TPM socket' },
          quote: { status: 'skipped' },
        }),
      }),
    );
    expect(event.type).toBe('attestation.failed');
    expect(reasonCodes(reasonsOf(event))).toEqual(['tpm_unavailable']);
    expect(event.data.checks.tpmAvailable).toBe(false);
  });

  it('given a PCR in the policy the baseline does not have: pcr_not_enrolled', () => {
    const values = [...pcrValues(), { index: 8, value: ZERO }];
    const event = only(
      attest({
        policy: policy({ pcrs: [0, 2, 4, 7, 8] }),
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: quoteMessage({ pcrs: [0, 2, 4, 7, 8], values: values.map((v) => v.value) }),
            check: { ok: true, failure: null, detail: 'verified' },
            pcrValues: values,
          },
        }),
      }),
    );
    expect(reasonCodes(reasonsOf(event))).toEqual(['pcr_not_enrolled']);
  });

  it('given the enrolment was made in another mode: mode_changed', () => {
    const event = only(attest({ mode: 'hardware' }));
    expect(reasonCodes(reasonsOf(event))).toEqual(['mode_changed']);
  });

  it('given no enrolment: not_enrolled with the enrolment error', () => {
    const event = only(
      attest({
        evidence: goodEvidence({
          enrolmentError: 'enrolment failed: handle occupied',
          ak: { status: 'unchecked' },
          quote: { status: 'skipped' },
        }),
      }),
      [],
    );
    expect(reasonsOf(event)).toEqual(['not_enrolled: enrolment failed: handle occupied']);
  });
});

describe('policy', () => {
  const software: Evidence = { kind: 'software', secureBoot: null };

  it('software mode never satisfies require: evaluation', () => {
    const event = only(attest({ mode: 'software', evidence: software }), []);
    expect(event.type).toBe('attestation.failed');
    expect(reasonCodes(reasonsOf(event))).toEqual(['software_mode', 'mode_insufficient']);
    expect(event.data.policySatisfied).toBe(false);
    expect(event.data.quoteDigest).toBeNull();
    expect(event.data.checks.tpmAvailable).toBe(false);
  });

  it('software mode is only degraded under require: none (recorded, gates nothing)', () => {
    const event = only(
      attest({ mode: 'software', evidence: software, policy: policy({ require: 'none' }) }),
      [],
    );
    expect(event.type).toBe('attestation.degraded');
    expect(reasonCodes(reasonsOf(event))).toEqual(['software_mode']);
    expect(event.data.policySatisfied).toBe(true);
  });

  it('a host enrolled with a TPM that now has none says so', () => {
    const event = only(attest({ mode: 'software', evidence: software }));
    expect(reasonCodes(reasonsOf(event))).toEqual([
      'software_mode',
      'mode_changed',
      'mode_insufficient',
    ]);
  });

  it('evaluation mode does not satisfy require: hardware', () => {
    const event = only(attest({ policy: policy({ require: 'hardware' }) }));
    expect(event.type).toBe('attestation.failed');
    expect(reasonCodes(reasonsOf(event))).toEqual(['mode_insufficient']);
    expect(event.data.checks.quoteVerified).toBe(true);
  });

  it('a changed PCR under require: none is degraded, not failed', () => {
    const values = pcrValues('ee'.repeat(32));
    const event = only(
      attest({
        policy: policy({ require: 'none' }),
        evidence: goodEvidence({
          quote: {
            status: 'taken',
            message: quoteMessage({ values: values.map((v) => v.value) }),
            check: { ok: true, failure: null, detail: 'verified' },
            pcrValues: values,
          },
        }),
      }),
    );
    expect(event.type).toBe('attestation.degraded');
    expect(event.data.policySatisfied).toBe(true);
  });

  it('Secure Boot off fails when the policy requires it, whatever else it requires', () => {
    for (const require of ['none', 'evaluation'] as const) {
      const event = only(
        attest({
          policy: policy({ require, requireSecureBoot: true }),
          evidence: goodEvidence({ secureBoot: false }),
        }),
      );
      expect(event.type).toBe('attestation.failed');
      expect(reasonCodes(reasonsOf(event))).toEqual(['secure_boot_off']);
    }
  });
});

describe('mode', () => {
  it.each([
    [{ transport: null, manufacturer: null, hypervisor: false }, 'software'],
    [{ transport: 'swtpm', manufacturer: 'IBM', hypervisor: false }, 'evaluation'],
    [{ transport: 'mssim', manufacturer: 'MSFT', hypervisor: false }, 'evaluation'],
    [{ transport: 'device', manufacturer: 'IFX', hypervisor: true }, 'evaluation'],
    [{ transport: 'device', manufacturer: 'IBM', hypervisor: false }, 'evaluation'],
    [{ transport: 'device', manufacturer: 'IFX', hypervisor: false }, 'hardware'],
    [{ transport: 'device', manufacturer: null, hypervisor: false }, 'hardware'],
  ] as const)('%j → %s', (facts, mode) => {
    expect(modeOf(facts)).toBe(mode);
  });
});

describe('the boot gate', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  const latest = (over: Partial<LatestResult['data']> = {}, time = '2026-01-01T00:09:00Z') => {
    const event = only(attest());
    return {
      eventId: 'e1',
      type: event.type,
      time,
      data: { ...event.data, ...over },
    } satisfies LatestResult;
  };

  it('is closed before the first attestation', () => {
    expect(verifyAnswer(policy(), 'evaluation', null, now, 660_000)).toMatchObject({
      satisfied: false,
      lastEventId: null,
      outcome: 'pending',
    });
  });

  it('follows the latest verdict while it is fresh', () => {
    expect(verifyAnswer(policy(), 'evaluation', latest(), now, 660_000)).toEqual({
      satisfied: true,
      mode: 'evaluation',
      require: 'evaluation',
      lastEventId: 'e1',
      outcome: 'verified',
      attestedAt: '2026-01-01T00:09:00Z',
      reasons: [],
    });
    const failed = verifyAnswer(
      policy(),
      'evaluation',
      {
        ...latest({ policySatisfied: false, reasons: ['pcr_mismatch: PCR 7'] }),
        type: 'attestation.failed',
      },
      now,
      660_000,
    );
    expect(failed).toMatchObject({
      satisfied: false,
      outcome: 'failed',
      reasons: ['pcr_mismatch: PCR 7'],
    });
  });

  it('closes when the latest result is stale', () => {
    const answer = verifyAnswer(
      policy(),
      'evaluation',
      latest({}, '2026-01-01T00:00:00Z'),
      now,
      300_000,
    );
    expect(answer.satisfied).toBe(false);
    expect(answer.reasons[0]).toMatch(/^stale:/);
    expect(
      verifyAnswer(policy(), 'evaluation', latest({}, '2026-01-01T00:00:00Z'), now, null).satisfied,
    ).toBe(true);
  });
});
