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
  /** Verdicts already reached under `snapshot`, by canonical input (see `#evaluate`). */
  #memo: { snapshot: PolicySnapshot; verdicts: Map<string, Verdict> } | null = null;
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
    const input = canonicalJson(normalized.input);
    const verdict = this.#evaluate(normalized.input, input, snapshot);
    const durationMicros = Math.max(0, Math.round(this.clock.micros() - started));
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

  /**
   * `evaluate`, remembered: it is a pure function of the input and the snapshot (no clock, no
   * state), so the verdict reached once for a canonical input under a snapshot is the verdict,
   * trace included, every time after (what replay relies on too). Gates ask the same questions
   * again and again (the same tool on the same path, the same action); the memo is bounded,
   * emptied when full, and belongs to one snapshot (a reload starts a new one).
   */
  #evaluate(input: DecisionInput, key: string, snapshot: PolicySnapshot | null): Verdict {
    if (snapshot === null) return evaluate(input, null);
    if (this.#memo?.snapshot !== snapshot) this.#memo = { snapshot, verdicts: new Map() };
    const verdicts = this.#memo.verdicts;
    const known = verdicts.get(key);
    if (known) return known;
    const verdict = frozen(evaluate(input, snapshot.documents));
    if (verdicts.size >= VERDICT_MEMO_ENTRIES) verdicts.clear();
    verdicts.set(key, verdict);
    return verdict;
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

/** Distinct inputs remembered per snapshot (each a few hundred bytes). */
export const VERDICT_MEMO_ENTRIES = 4096;

/** A verdict shared between answers and events is never changed by any of them. */
function frozen(verdict: Verdict): Verdict {
  for (const step of verdict.trace) Object.freeze(step);
  Object.freeze(verdict.trace);
  return Object.freeze(verdict);
}

const defaultClock = {
  now: () => new Date(),
  micros: () => Number(process.hrtime.bigint() / 1000n),
};
