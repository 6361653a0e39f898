import {
  isDecisionEventType,
  type Signer,
  type TrustStore,
  type VerifiedEvent,
} from '@secai/contracts';
import type { Logger } from '@secai/streams';
import { obtainAttestation } from './attestation.js';
import type { HandledIncident, IncidentBook, RecorderConnection } from './book.js';
import {
  classify,
  initialAttestationLedger,
  initialBurstState,
  isObservedType,
  noteAttestation,
  observeDecision,
  type AttestationLedger,
  type BurstState,
  type ObservedEvent,
  type Observation,
} from './classifier.js';
import type { ContainmentExecutor } from './containment.js';
import { initialFloodState, observeRefusal, type FloodState } from './flood.js';
import {
  incidentIdFor,
  outcomeOf,
  reattestRequired,
  type AttestationFact,
  type RefusalCode,
} from './decider.js';
import { stateOf, type IncidentStateName } from './machine.js';
import { KeyedMutex } from '@secai/streams';
import type { IncidentPolicy } from './policy/schema.js';

export interface RecorderDeps {
  conn: RecorderConnection;
  book: IncidentBook;
  executor: ContainmentExecutor;
  signer: Signer;
  trust: TrustStore;
  policy: () => IncidentPolicy;
  log: Logger;
  /** Clock for escalation windows (the attachment's recording time). */
  now?: () => Date;
}

export interface StepOutcome {
  ok: boolean;
  /** The incident's state after the step (or before a refusal). */
  state: IncidentStateName;
  refusal: { code: RefusalCode; message: string } | null;
}

export function observedOf(v: VerifiedEvent): ObservedEvent {
  return {
    id: v.event.id,
    type: v.event.type,
    source: v.event.source,
    subject: v.event.subject,
    time: v.event.time,
    correlationId: v.event.correlationid,
    data: v.event.data,
  };
}

const ATTEMPTS = 4;

/**
 * The recorder's edge between observations and incidents: classifies what the consumer delivers,
 * correlates it to the active incident of its class and subject (attach, escalate) or opens one
 * (and hands its containment to the executor), and carries out the operator steps (resolve with
 * the recovery ceremony, acknowledge).
 */
export class IncidentRecorder {
  readonly #deps: RecorderDeps;
  readonly #keys = new KeyedMutex();
  readonly bursts: BurstState = initialBurstState();
  /** The recorder's own refusals per offending identity (refusal floods). */
  readonly floods: FloodState = initialFloodState();
  /** Enrolments and development-mode declarations seen so far (stream order). */
  readonly attestations: AttestationLedger = initialAttestationLedger();

  constructor(deps: RecorderDeps) {
    this.#deps = deps;
  }

  /**
   * Feeds the denials of a decision event (alone or a group) seen before the consumer's position
   * (a restart) to the burst windows only.
   */
  warm(v: VerifiedEvent): void {
    observeDecision(this.bursts, observedOf(v), this.#deps.policy());
  }

  /** Feeds an enrolment or declaration seen before the consumer's position (a restart). */
  warmAttestation(v: VerifiedEvent): void {
    noteAttestation(this.attestations, observedOf(v));
  }

  /** One verified event from the stream: every observation it stands for is recorded. */
  async observe(v: VerifiedEvent): Promise<void> {
    if (!isObservedType(v.event.type)) return;
    const event = observedOf(v);
    if (noteAttestation(this.attestations, event)) return;
    const policy = this.#deps.policy();
    const observations = isDecisionEventType(event.type)
      ? observeDecision(this.bursts, event, policy)
      : (this.#refusalFlood(event, policy) ??
        [classify(event, policy, this.attestations)].filter((o) => o !== null));
    for (const o of observations) await this.record(o);
  }

  /**
   * Attaches the observation to the active incident of its class and subject, or opens one;
   * `outcome` is the decision's (`opened`, `attached`, `escalated`, `duplicate`).
   */
  async record(o: Observation): Promise<{ incidentId: string; outcome: string }> {
    return this.#keys.run(`${o.class}|${o.subject}`, async () => {
      const { book, log } = this.#deps;
      const meta = { causationId: o.causeId, correlationId: o.correlationId };
      // A redelivered observation that opened an incident names that incident again, even if it
      // was closed meanwhile and another one is active for its class and subject.
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const id = incidentIdFor(o, attempt);
        if (book.get(id)?.snapshot.context.causeEventIds.includes(o.causeId)) {
          this.#deps.executor.schedule(id);
          return { incidentId: id, outcome: 'duplicate' };
        }
      }
      const active = book.activeFor(o.class, o.subject);
      if (active) {
        const now = (this.#deps.now ?? (() => new Date()))().toISOString();
        const result = await book.handle(
          active,
          { type: 'attach', observation: o, escalation: this.#deps.policy().escalation, now },
          meta,
        );
        if (result.decision.refusal?.code !== 'incident_closed') {
          this.#logged(active, result, o);
          return { incidentId: active, outcome: outcomeOf(result.decision) };
        }
      }
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const id = incidentIdFor(o, attempt);
        const rule = this.#deps.policy().classes[o.class];
        const result = await book.handle(
          id,
          { type: 'open', incidentId: id, observation: o, rule },
          meta,
        );
        if (result.decision.refusal?.code === 'incident_exists') continue;
        this.#logged(id, result, o);
        this.#deps.executor.schedule(id);
        return { incidentId: id, outcome: outcomeOf(result.decision) };
      }
      log.error({ observation: o.causeId }, 'no free incident id for an observation');
      throw new Error(`no free incident id for observation ${o.causeId}`);
    });
  }

  /**
   * A refusal that is part of a flood is the flood incident's observation (null otherwise): one
   * identity's thousand forgeries make one `bus_abuse` incident grow, not a thousand attachments
   * to an unauthorised-access incident as well.
   */
  #refusalFlood(event: ObservedEvent, policy: IncidentPolicy): Observation[] | null {
    if (event.type !== 'security.envelope.rejected') return null;
    const flood = observeRefusal(this.floods, event, policy, this.#deps.signer.service);
    return flood.length > 0 ? flood : null;
  }

  #logged(id: string, result: HandledIncident, o: Observation): void {
    const ctx = result.record.snapshot.context;
    const fields = {
      incident: id,
      class: ctx.class,
      severity: ctx.severity,
      subject: ctx.subject,
      observations: ctx.observationCount,
      cause: o.causeId,
    };
    const outcome = outcomeOf(result.decision);
    switch (outcome) {
      case 'opened':
        this.#deps.log.warn(fields, 'incident opened');
        break;
      case 'escalated':
        this.#deps.log.warn(fields, 'incident escalated');
        break;
      case 'attached':
        this.#deps.log.info(fields, 'observation attached to the open incident');
        break;
      default:
        this.#deps.log.debug({ ...fields, outcome }, 'observation already recorded');
    }
  }

  async #record(id: string) {
    return this.#deps.book.get(id) ?? (await this.#deps.book.load(id)).record;
  }

  /**
   * Resolves once the recovery ceremony holds: the operator named, and for critical incidents and
   * latched classes an `attestation.verified` stored after everything the incident's binding
   * covers (one found in the stream, else asked of the runtime attestor).
   */
  async resolve(
    id: string,
    step: { operator: string; note: string; requestId?: string },
  ): Promise<StepOutcome> {
    const record = await this.#record(id);
    const ctx = record.snapshot.context;
    if (stateOf(record.snapshot) === 'none')
      return this.#outcome(record.snapshot, 'incident_unknown', 'no such incident');
    const policy = this.#deps.policy();
    const rule = policy.classes[ctx.class!];
    let attestation: AttestationFact | null = null;
    const state = stateOf(record.snapshot);
    const closable =
      state === 'contained' ||
      state === 'containment_failed' ||
      (state === 'open' && ctx.requested === null);
    if (closable && reattestRequired(ctx, rule))
      attestation = await obtainAttestation(
        this.#deps.conn,
        { signer: this.#deps.signer, trust: this.#deps.trust, log: this.#deps.log },
        id,
        ctx.requiredAfterSeq,
        policy.ceremony,
      );
    const result = await this.#deps.book.handle(
      id,
      (s) => ({
        type: 'resolve',
        operator: step.operator,
        note: step.note,
        rule: this.#deps.policy().classes[s.context.class!],
        ceremony: this.#deps.policy().ceremony,
        attestation,
      }),
      step.requestId !== undefined ? { causationId: step.requestId } : {},
    );
    return this.#stepped(id, result, 'resolve');
  }

  /** Acknowledges a resolved incident (the last step: its containment latch is released). */
  async acknowledge(
    id: string,
    step: { operator: string; note: string; requestId?: string },
  ): Promise<StepOutcome> {
    const record = await this.#record(id);
    if (stateOf(record.snapshot) === 'none')
      return this.#outcome(record.snapshot, 'incident_unknown', 'no such incident');
    const result = await this.#deps.book.handle(
      id,
      { type: 'acknowledge', operator: step.operator, note: step.note },
      step.requestId !== undefined ? { causationId: step.requestId } : {},
    );
    return this.#stepped(id, result, 'acknowledge');
  }

  #outcome(
    snapshot: Parameters<typeof stateOf>[0],
    code: RefusalCode,
    message: string,
  ): StepOutcome {
    return { ok: false, state: stateOf(snapshot), refusal: { code, message } };
  }

  #stepped(id: string, result: HandledIncident, what: string): StepOutcome {
    const state = stateOf(result.record.snapshot);
    if (result.decision.refusal) {
      this.#deps.log.warn({ incident: id, code: result.decision.refusal.code }, `${what} refused`);
      return { ok: false, state, refusal: result.decision.refusal };
    }
    if (result.appended.length > 0)
      this.#deps.log.info({ incident: id, state }, `incident ${state}`);
    return { ok: true, state, refusal: null };
  }
}
