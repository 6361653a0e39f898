import {
  EnvelopeError,
  verifyEnvelope,
  type EventData,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import { readHistory, sendCommand, type Logger } from '@secai/streams';
import type { RecorderConnection } from './book.js';
import { ATTESTATION_LANE, OBSERVATIONS_DURABLE, ackFloorOf } from './consumer.js';
import type { AttestationFact } from './decider.js';
import type { IncidentPolicy } from './policy/schema.js';
import type { IncidentRecorder } from './recorder.js';

const ATTESTATION_FILTER = 'secai.evt.attestation.>';

/** Whether a fact completes a re-attestation under the ceremony policy. */
export function satisfies(fact: AttestationFact, ceremony: IncidentPolicy['ceremony']): boolean {
  return (
    fact.policySatisfied &&
    (!ceremony.requireHardwareAttestation || (fact.mode === 'hardware' && fact.evidenceVerified))
  );
}

/** Last stream sequence of any attestation subject (0: none). */
async function lastAttestationSeq(conn: RecorderConnection): Promise<number> {
  const info = await conn.jsm.streams.info(conn.store.stream, {
    subjects_filter: ATTESTATION_FILTER,
  });
  let last = 0;
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const m = await conn.jsm.streams.getMessage(conn.store.stream, { last_by_subj: subject });
    if (m && m.seq > last) last = m.seq;
  }
  return last;
}

/**
 * The latest verified `attestation.verified` stored after `afterSeq` (the one that satisfies the
 * ceremony policy if any does), or null. Forged envelopes are skipped.
 */
export async function findAttestation(
  conn: RecorderConnection,
  afterSeq: number,
  ceremony: IncidentPolicy['ceremony'],
): Promise<AttestationFact | null> {
  // A filtered read starting past the last match would wait forever: ask the server first.
  if ((await lastAttestationSeq(conn)) <= afterSeq) return null;
  let best: AttestationFact | null = null;
  for await (const entry of readHistory(conn.js, conn.jsm, conn.store.stream, {
    filterSubject: ATTESTATION_FILTER,
    fromSeq: afterSeq + 1,
  })) {
    if (entry.type !== 'attestation.verified') continue;
    let data: EventData<'attestation.verified'>;
    let id: string;
    try {
      const v = verifyEnvelope(entry.bytes, conn.store.trust, {
        natsSubject: entry.subject,
        streamSeq: entry.seq,
      });
      if (v.event.type !== 'attestation.verified') continue;
      data = v.event.data as EventData<'attestation.verified'>;
      id = v.event.id;
    } catch (err) {
      if (err instanceof EnvelopeError) continue;
      throw err;
    }
    const fact: AttestationFact = {
      eventId: id,
      seq: entry.seq,
      policySatisfied: data.policySatisfied,
      mode: data.mode,
      evidenceVerified: data.evidenceVerified,
    };
    if (!best || satisfies(fact, ceremony) || !satisfies(best, ceremony)) best = fact;
  }
  return best;
}

/**
 * A fresh attestation for a ceremony: one already stored after `afterSeq`, else asked of the
 * runtime attestor (`runtime-attestor.attest`) and then found in the stream (the attestor answers
 * once its event is stored). A missing attestor is no attestation: the ceremony cannot complete.
 */
export async function obtainAttestation(
  conn: RecorderConnection,
  deps: { signer: Signer; trust: TrustStore; log: Logger },
  incidentId: string,
  afterSeq: number,
  ceremony: IncidentPolicy['ceremony'],
): Promise<AttestationFact | null> {
  const found = await findAttestation(conn, afterSeq, ceremony);
  if (found && satisfies(found, ceremony)) return found;
  try {
    const reply = await sendCommand(conn.nc, {
      command: 'runtime-attestor.attest',
      signer: deps.signer,
      trust: deps.trust,
      request: { reason: `recovery ceremony of incident ${incidentId}`.slice(0, 256) },
      timeoutMs: ceremony.attestTimeoutMs,
    });
    if (!reply.ok) {
      deps.log.warn({ incident: incidentId, code: reply.code }, 'the attestor refused to attest');
      return found;
    }
    const deadline = Date.now() + 5_000;
    for (;;) {
      const fresh = await findAttestation(conn, afterSeq, ceremony);
      if (fresh && fresh.eventId === reply.eventId) return fresh;
      if (reply.outcome !== 'verified' || Date.now() > deadline) return fresh ?? found;
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    deps.log.warn({ incident: incidentId, err }, 'no fresh attestation from the runtime attestor');
    return found;
  }
}

/**
 * Refills the recorder's attestation ledger after a restart: the enrolments and development-mode
 * declarations stored before the attestation lane's position (the previous run saw them,
 * its ledger died with it). Without this, a host whose TPM was enrolled before the restart could
 * fall back to software mode afterwards and pass for development mode.
 */
export async function warmAttestationLedger(
  conn: RecorderConnection,
  deps: { recorder: IncidentRecorder; log: Logger },
): Promise<number> {
  // The attestation lane's position; before that lane existed (an upgrade), the general one read
  // attestation subjects and its position is where the lane will start.
  const floor =
    (await ackFloorOf(conn, ATTESTATION_LANE)) ?? (await ackFloorOf(conn, OBSERVATIONS_DURABLE));
  if (floor === null || floor === 0) return 0; // first start: the lane reads everything
  let fed = 0;
  for await (const entry of readHistory(conn.js, conn.jsm, conn.store.stream, {
    filterSubject: ATTESTATION_FILTER,
    toSeq: floor,
  })) {
    if (
      entry.type !== 'attestation.enrolled' &&
      entry.type !== 'attestation.development_mode.declared'
    )
      continue;
    try {
      deps.recorder.warmAttestation(
        verifyEnvelope(entry.bytes, conn.store.trust, {
          natsSubject: entry.subject,
          streamSeq: entry.seq,
        }),
      );
      fed++;
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
    }
  }
  const t = deps.recorder.attestations.tpmEnrolment;
  deps.log.info(
    {
      events: fed,
      tpmEnrolled: t?.eventId ?? null,
      developmentHosts: [...deps.recorder.attestations.declared.keys()],
    },
    'attestation ledger refilled',
  );
  return fed;
}
