import {
  canonicalJson,
  sha256Hex,
  type DecisionResponseData,
  type DraftEvent,
  type ServiceName,
} from '@secai/contracts';
import type { DecisionInput, Verdict } from './decision.js';
import { evaluate } from './evaluate.js';
import { normalizeRequest } from './normalize.js';
import type { PolicySnapshot } from './policy/index.js';

export interface DecisionOutcome {
  /** The answer, without where it is recorded (known once the record is acknowledged). */
  response: Omit<DecisionResponseData, 'eventId' | 'decisionId'>;
  /** The `policy.decided` event to record before answering. */
  event: DraftEvent<'policy.decided'>;
}

export interface EngineStats {
  decisions: number;
  allow: number;
  deny: number;
  ask: number;
  byDomain: Record<string, number>;
}

/**
 * The decision point: holds the active policy snapshot (swapped atomically on reload; `null`
 * means no valid policy, and then everything is denied) and turns requests into verdicts with
 * evidence. The only impure inputs, the clock and the timer, are injected.
 */
export class PolicyEngine {
  #snapshot: PolicySnapshot | null = null;
  readonly stats: EngineStats = { decisions: 0, allow: 0, deny: 0, ask: 0, byDomain: {} };

  constructor(private readonly clock: { now: () => Date; micros: () => number } = defaultClock) {}

  get snapshot(): PolicySnapshot | null {
    return this.#snapshot;
  }

  install(snapshot: PolicySnapshot): void {
    this.#snapshot = snapshot;
  }

  /** Decides a raw request (HTTP body, NATS command data or a consumer's question). */
  decide(raw: unknown, caller: ServiceName): DecisionOutcome {
    const started = this.clock.micros();
    const snapshot = this.#snapshot;
    const normalized = normalizeRequest(raw);
    const verdict = evaluate(normalized.input, snapshot?.documents ?? null);
    const durationMicros = Math.max(0, Math.round(this.clock.micros() - started));
    const input = canonicalJson(normalized.input);
    const domain = domainOf(normalized.input);
    const evidence = {
      domain,
      ruleId: verdict.ruleId,
      policyDigest: snapshot?.digest ?? null,
      inputDigest: `sha256:${sha256Hex(input)}`,
      evaluatedAt: this.clock.now().toISOString(),
      durationMicros,
      trace: verdict.trace,
    };
    this.count(domain, verdict);
    const data: DraftEvent<'policy.decided'>['data'] = {
      caller,
      domain,
      subject: normalized.subject,
      input,
      decision: verdict.decision,
      reason: verdict.reason,
      evidence,
    };
    if (normalized.action !== undefined) data.action = normalized.action;
    return {
      response: { decision: verdict.decision, reason: verdict.reason, evidence },
      event: { type: 'policy.decided', aggregateId: domain, data },
    };
  }

  private count(domain: string, verdict: Verdict): void {
    this.stats.decisions++;
    this.stats[verdict.decision]++;
    this.stats.byDomain[domain] = (this.stats.byDomain[domain] ?? 0) + 1;
  }
}

/** The domain a decision is filed under (`decision/<domain>`); invalid requests under `invalid`. */
export function domainOf(input: DecisionInput): string {
  return input.domain === 'invalid' ? 'invalid' : input.domain;
}

const defaultClock = {
  now: () => new Date(),
  micros: () => Number(process.hrtime.bigint() / 1000n),
};
