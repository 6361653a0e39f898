import { issueBearerToken, type Signer } from '@secai/contracts';

/** What the runtime attestor says about the host, as `secai boot` gates on it. */
export interface AttestationGate {
  satisfied: boolean;
  mode: string | null;
  /** The `attestation.*` event the answer rests on; null when there was none in time. */
  lastEventId: string | null;
  reasons: string[];
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
        last = {
          satisfied: body.satisfied === true,
          mode: typeof body.mode === 'string' ? body.mode : null,
          lastEventId: typeof body.lastEventId === 'string' ? body.lastEventId : null,
          reasons: Array.isArray(body.reasons)
            ? body.reasons.filter((r): r is string => typeof r === 'string').slice(0, 16)
            : [],
        };
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
