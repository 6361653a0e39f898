import {
  EnvelopeError,
  decodePayload,
  parseEnvelope,
  verifyEnvelope,
  type CloudEvent,
  type EnvelopeClaims,
  type TrustStore,
} from '@secai/contracts';

// The verdict on one envelope, as the watch shows it: the node verifier's checks (those of the
// live consumers), and for a refusal its code and what it claims, kept apart from any fact.

/** What arrived, verified or refused, as the fold takes it. */
export type Verdict =
  | { ok: true; seq: number | null; event: CloudEvent }
  | {
      ok: false;
      seq: number | null;
      code: string;
      natsSubject: string;
      receivedAt: string;
      claims: EnvelopeClaims;
    };

/** Checks one envelope exactly as the live consumers do; a refusal keeps only its claims. */
export function verdictOf(
  bytes: Uint8Array,
  trust: TrustStore,
  at: { seq: number | null; natsSubject: string; typeHeader?: string | undefined },
  now: () => Date = () => new Date(),
): Verdict {
  try {
    const { event } = verifyEnvelope(bytes, trust, {
      natsSubject: at.natsSubject,
      ...(at.seq !== null ? { streamSeq: at.seq } : {}),
      ...(at.typeHeader ? { typeHeader: at.typeHeader } : {}),
    });
    return { ok: true, seq: at.seq, event };
  } catch (err) {
    const code = err instanceof EnvelopeError ? err.code : 'ENVELOPE_MALFORMED';
    let claims: EnvelopeClaims = err instanceof EnvelopeError ? { ...err.claims } : {};
    if (claims.type === undefined) {
      // Refused before the payload was read (unknown key, bad signature): say what it claims.
      try {
        const e = decodePayload(parseEnvelope(bytes));
        claims = { ...claims, type: e.type, subject: e.subject, source: e.source, id: e.id };
      } catch {
        // Not even an envelope: nothing to claim.
      }
    }
    return {
      ok: false,
      seq: at.seq,
      code,
      natsSubject: at.natsSubject,
      receivedAt: now().toISOString(),
      claims,
    };
  }
}
