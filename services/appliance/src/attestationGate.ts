import { issueBearerToken, type Signer } from '@secai/contracts';

/** What the runtime attestor says about the host, as `secai boot` gates on it. */
export interface AttestationGate {
  satisfied: boolean;
  mode: string | null;
  /** The `attestation.*` event the answer rests on; null when there was none in time. */
  lastEventId: string | null;
  reasons: string[];
  /**
   * Development mode: not satisfied only because the host has no TPM (software mode, no reason
   * but `software_mode` / `mode_insufficient`). The chosen state of a developer's machine, told
   * apart from a failed attestation, which is reported as one.
   */
  development: boolean;
}

/** The reasons a software-mode run gives by itself (the runtime attestor's reason codes). */
const DEVELOPMENT_REASON_CODES = new Set(['software_mode', 'mode_insufficient']);

/** Whether an unsatisfied answer is development mode rather than a failure (see above). */
export function isDevelopmentMode(
  answer: Pick<AttestationGate, 'satisfied' | 'mode' | 'reasons'>,
): boolean {
  return (
    !answer.satisfied &&
    answer.mode === 'software' &&
    answer.reasons.length > 0 &&
    answer.reasons.every((r) => DEVELOPMENT_REASON_CODES.has(r.slice(0, r.indexOf(':'))))
  );
}

/** One plain line for the person who started the appliance. */
export function describeAttestation(gate: AttestationGate | null): string {
  if (gate === null) return 'UNATTESTED: no runtime attestor in this appliance';
  if (gate.satisfied) return `attested (${gate.mode ?? '?'} mode)`;
  if (gate.development)
    return 'UNATTESTED (development mode): no TPM on this host, nothing is measured; production needs a TPM and secai boot --require-attestation';
  return `ATTESTATION FAILED (${gate.mode ?? 'no result'}): ${gate.reasons.join('; ') || 'no reason given'}; running anyway because --require-attestation was not given`;
}

interface VerifyAnswer {
  satisfied?: unknown;
  mode?: unknown;
  lastEventId?: unknown;
  reasons?: unknown;
}

/**
 * Asks the attestor's `GET /api/v1/verify` (as the appliance, with a bearer token) until it has
 * a first attestation to answer from, or `timeoutMs` passes. Never throws: an attestor that
 * cannot be asked is an unsatisfied gate with that reason.
 */
export async function checkAttestation(
  port: number,
  signer: Signer,
  options: { timeoutMs?: number; pollMs?: number; now?: () => Date } = {},
): Promise<AttestationGate> {
  const now = options.now ?? (() => new Date());
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: AttestationGate = {
    satisfied: false,
    mode: null,
    lastEventId: null,
    reasons: ['the runtime attestor did not answer'],
    development: false,
  };
  for (;;) {
    try {
      const token = issueBearerToken(signer, { audience: 'runtime-attestor', now: now() });
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/verify`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5000),
      });
      if (res.ok) {
        const body = (await res.json()) as VerifyAnswer;
        const answer = {
          satisfied: body.satisfied === true,
          mode: typeof body.mode === 'string' ? body.mode : null,
          lastEventId: typeof body.lastEventId === 'string' ? body.lastEventId : null,
          reasons: Array.isArray(body.reasons)
            ? body.reasons.filter((r): r is string => typeof r === 'string').slice(0, 16)
            : [],
        };
        last = { ...answer, development: isDevelopmentMode(answer) };
        if (last.lastEventId !== null) return last;
      } else {
        last = { ...last, reasons: [`the attestor answered HTTP ${res.status}`] };
      }
    } catch (err) {
      last = { ...last, reasons: [`the attestor could not be asked: ${(err as Error).message}`] };
    }
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
}
