import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  IllegalStateError,
  canonicalJson,
  eventSubject,
  sha256Hex,
  verifyEnvelope,
  writeFileAtomic,
  type CloudEvent,
  type DsseEnvelope,
  type ServiceName,
} from '@secai/contracts';
import {
  CommandHandler,
  type CommandMetadata,
  type EventStore,
  type HandledCommand,
  type JetStreamManager,
  type LoadedEvent,
  type Logger,
} from '@secai/streams';
import {
  attestationDecider,
  checkQuote,
  enrolmentFrom,
  evolve,
  initialState,
  isResultType,
  outcomeOf,
  type AttestationCommand,
  type AttestationEvent,
  type AttestationMode,
  type AttestationState,
  type Evidence,
  type LatestResult,
  type Outcome,
  type ResultData,
} from './decider.js';
import type { AttestationPolicy } from './policy.js';
import { PROFILE_DIR, loadProfile, saveProfile, type EnrolmentProfile } from './profile.js';
import { toHex } from './quote.js';
import { TpmError, type TpmPort, type TpmTarget } from './tpm.js';

/** Runtime-state bundles kept (newest first); older ones are pruned. */
export const MAX_BUNDLES = 500;
/** Attestation requests waiting behind the running one before new ones are refused. */
export const MAX_QUEUED_RUNS = 8;

export type AttestorErrorCode = 'ATTESTOR_BUSY' | 'ATTESTOR_STOPPED';
export class AttestorError extends Error {
  constructor(
    readonly code: AttestorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AttestorError';
  }
}

/** The latest stored result with its signed envelope: the runtime-state bundle's public face. */
export interface StoredResult extends LatestResult {
  seq: number;
  event: CloudEvent;
  envelope: DsseEnvelope;
}

/** Quote artifacts besides the message, hex: kept in the bundle for re-verification. */
interface RawQuote {
  signature: string;
  pcrs: string;
}

export interface RunRequest {
  /** The service that asked; null for the periodic refresh and the start-up run. */
  requestedBy: ServiceName | null;
  /** The caller's own challenge (64 lowercase hex); a fresh random one otherwise. */
  nonce?: string;
  causationId?: string;
  correlationId?: string;
}

export interface RunResult {
  outcome: Outcome;
  eventId: string;
  seq: number;
  data: ResultData;
  stored: StoredResult;
}

export interface AttestorDeps {
  store: EventStore;
  jsm: JetStreamManager;
  stateDir: string;
  host: string;
  mode: AttestationMode;
  policy: AttestationPolicy;
  /** Null in software mode. */
  tpm: TpmPort | null;
  target: TpmTarget | null;
  manufacturer: string | null;
  akHandle: string;
  readSecureBoot: () => Promise<boolean | null>;
  log: Logger;
  now?: () => Date;
  random?: (n: number) => Buffer;
}

/**
 * One host's attestations: enrolment on first start, then one run at a time (a fresh nonce,
 * the quote, checkquote with the enrolled key, the pure decision, the bundle, the event).
 * Requests without their own nonce that arrive while another run is waiting share that waiting
 * run (their nonce is still fresher than their request); at most `MAX_QUEUED_RUNS` wait.
 */
export class Attestor {
  readonly #d: AttestorDeps;
  readonly #now: () => Date;
  readonly #random: (n: number) => Buffer;
  readonly #commands: CommandHandler<AttestationCommand, AttestationEvent, AttestationState>;
  /** The aggregate as last seen (a cache: a conflicting append reloads it and decides again). */
  #state: AttestationState = initialState();
  #profile: EnrolmentProfile | null = null;
  #profileError: string | null = null;
  #enrolmentError: string | null = null;
  #lastSeq = 0;
  #latest: StoredResult | null = null;
  #chain: Promise<void> = Promise.resolve();
  #waiting: Promise<RunResult> | null = null;
  #queued = 0;
  #running = false;
  #stopped = false;

  constructor(deps: AttestorDeps) {
    this.#d = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#random = deps.random ?? randomBytes;
    this.#commands = new CommandHandler({
      store: deps.store,
      aggregateType: 'attestation',
      decider: attestationDecider,
      fromStored: attestationEventOf,
      toDraft: (event, host) => ({ type: event.type, aggregateId: host, data: event.data }),
      log: deps.log,
    });
  }

  get host(): string {
    return this.#d.host;
  }
  get mode(): AttestationMode {
    return this.#d.mode;
  }
  get policy(): AttestationPolicy {
    return this.#d.policy;
  }
  get latest(): StoredResult | null {
    return this.#latest;
  }
  get profile(): EnrolmentProfile | null {
    return this.#profile;
  }
  /** Why the host is not enrolled (an invalid profile, a failed enrolment), if it is not. */
  get enrolmentProblem(): string | null {
    return this.#profileError ?? this.#enrolmentError;
  }
  /** A run is executing or waiting. */
  get busy(): boolean {
    return this.#running || this.#queued > 0;
  }

  /** Reads the profile and the aggregate's last event, and enrols when this host never did. */
  async init(): Promise<void> {
    this.#lastSeq = await this.#d.store.lastSequence('attestation', this.#d.host);
    if (this.#lastSeq > 0) {
      const last = await this.#readStored(this.#lastSeq);
      if (last) {
        this.#latest = last;
        this.#state = evolve(this.#state, { type: last.type, data: last.data } as AttestationEvent);
      }
    }
    try {
      this.#profile = await loadProfile(this.#d.stateDir);
    } catch (err) {
      // Never re-enrol over a profile that exists: the gate stays closed with the reason.
      this.#profileError = `the enrolment profile is unusable: ${(err as Error).message}`;
      this.#d.log.error(
        { err },
        'enrolment profile unusable; attestation will fail until an operator fixes it',
      );
      return;
    }
    if (this.#profile) {
      if (this.#profile.enrolment.host !== this.#d.host)
        this.#d.log.warn(
          { enrolled: this.#profile.enrolment.host, host: this.#d.host },
          'the enrolment names another host id',
        );
      // The stream may not have it yet (a crash before the append, a new bus): record it.
      const recorded = this.#profile.eventId !== null && this.#lastSeq > 0;
      if (recorded) this.#state = { ...this.#state, enrolment: this.#profile.enrolment };
      else await this.#record(this.#profile);
    }
    await this.#ensureEnrolled();
    await this.#declareDevelopment();
  }

  /**
   * In software mode on a host never enrolled with a TPM: records, before any run of this start,
   * that the appliance runs unattested in development mode. The incident recorder reads it (and
   * the history of enrolments) to tell this chosen state from a failure.
   */
  async #declareDevelopment(): Promise<void> {
    if (this.#d.mode !== 'software' || this.#profileError !== null) return;
    const { appended } = await this.#handle(
      {
        type: 'declare_development',
        host: this.#d.host,
        mode: this.#d.mode,
        policy: this.#d.policy,
      },
      {},
    );
    if (!appended) {
      this.#d.log.error(
        { host: this.#d.host, enrolled: this.#state.enrolment?.mode },
        'no TPM answers on a host enrolled with one: this is not development mode; every run fails (mode_changed)',
      );
      return;
    }
    this.#d.log.warn(
      { host: this.#d.host, eventId: appended.ids[0], require: this.#d.policy.require },
      'development mode: no TPM on this host, the appliance runs unattested (recorded)',
    );
  }

  /** Enrols when there is no profile, or upgrades a software enrolment once a TPM answers. */
  async #ensureEnrolled(): Promise<void> {
    if (this.#profileError !== null) return;
    const current = this.#profile?.enrolment.mode;
    if (current !== undefined && !(current === 'software' && this.#d.mode !== 'software')) return;
    try {
      const profile = await this.#enrol();
      await this.#record(profile);
      this.#enrolmentError = null;
      this.#d.log.info(
        { host: this.#d.host, mode: profile.enrolment.mode, akDigest: profile.enrolment.akDigest },
        'enrolled',
      );
    } catch (err) {
      this.#enrolmentError = `enrolment failed: ${(err as Error).message}`.slice(0, 480);
      this.#d.log.error({ err }, 'enrolment failed; retried before the next attestation');
    }
  }

  async #enrol(): Promise<EnrolmentProfile> {
    const { tpm, target, host, mode, policy, akHandle } = this.#d;
    const enrolledAt = this.#now().toISOString();
    if (tpm === null || target === null || mode === 'software') {
      return {
        version: 1,
        tcti: null,
        akHandle: null,
        akPublicPem: null,
        enrolment: enrolmentFrom({
          host,
          mode: 'software',
          akPublicPem: null,
          pcrs: [],
          check: null,
        }),
        enrolledAt,
        eventId: null,
      };
    }
    const pem = await tpm.createAttestationKey(akHandle);
    try {
      // The baseline is what the new key quotes under a fresh nonce, verified like every run.
      const nonce = this.#nonce();
      const artifacts = await tpm.quote(akHandle, policy.pcrs, nonce);
      const result = await tpm.checkQuote(pem, artifacts, nonce);
      const taken = {
        status: 'taken',
        message: toHex(artifacts.message),
        check: result,
        pcrValues: result.pcrValues,
      } as const;
      const check = checkQuote(taken, nonce, policy.pcrs);
      const enrolment = enrolmentFrom({ host, mode, akPublicPem: pem, pcrs: policy.pcrs, check });
      const profile: EnrolmentProfile = {
        version: 1,
        tcti: target.tcti,
        akHandle,
        akPublicPem: pem,
        enrolment,
        enrolledAt,
        eventId: null,
      };
      await saveProfile(this.#d.stateDir, profile);
      return profile;
    } catch (err) {
      // No profile names the key: leave the handle free for the next attempt.
      await tpm
        .removeAttestationKey(akHandle)
        .catch((e: unknown) =>
          this.#d.log.error({ err: e, handle: akHandle }, 'could not evict the unenrolled key'),
        );
      throw err;
    }
  }

  /** Appends `attestation.enrolled` when the decider says so, then notes its id in the profile. */
  async #record(profile: EnrolmentProfile): Promise<void> {
    const { appended } = await this.#handle({ type: 'enrol', enrolment: profile.enrolment }, {});
    if (appended) profile = { ...profile, eventId: appended.ids[0]! };
    await saveProfile(this.#d.stateDir, profile);
    this.#profile = profile;
  }

  /**
   * Decides `command` on the aggregate and appends what it decides, through the command kernel:
   * the cached state is tried first, and a conflict (another writer on this host's aggregate)
   * reloads it from the stream and decides again, so a stored result never rests on a state the
   * aggregate has left (issue 9).
   */
  async #handle(
    command: AttestationCommand,
    meta: CommandMetadata,
  ): Promise<HandledCommand<AttestationEvent, AttestationState, never>> {
    const handled = await this.#commands.handle(this.#d.host, command, {
      meta,
      known: { state: this.#state, lastSequence: this.#lastSeq },
    });
    this.#state = handled.state;
    this.#lastSeq = handled.lastSequence;
    return handled;
  }

  async #readStored(seq: number): Promise<StoredResult | null> {
    const msg = await this.#d.jsm.streams.getMessage(this.#d.store.stream, { seq });
    if (!msg) return null;
    const verified = verifyEnvelope(msg.data, this.#d.store.trust, {
      natsSubject: msg.subject,
      streamSeq: msg.seq,
    });
    const { event } = verified;
    if (!isResultType(event.type)) return null;
    return {
      seq: msg.seq,
      eventId: event.id,
      type: event.type,
      time: event.time,
      data: event.data as ResultData,
      event,
      envelope: verified.envelope,
    };
  }

  #nonce(): string {
    return this.#random(32).toString('hex');
  }

  /** Queues one attestation (see the class comment for sharing); resolves once its event is stored. */
  attest(request: RunRequest): Promise<RunResult> {
    if (this.#stopped)
      return Promise.reject(new AttestorError('ATTESTOR_STOPPED', 'the attestor is stopping'));
    if (request.nonce === undefined && this.#waiting !== null) return this.#waiting;
    if (this.#queued >= MAX_QUEUED_RUNS)
      return Promise.reject(
        new AttestorError('ATTESTOR_BUSY', `${this.#queued} attestations are already waiting`),
      );
    this.#queued++;
    let self: Promise<RunResult> | null = null;
    const run = this.#chain.then(async () => {
      this.#queued--;
      if (this.#waiting === self) this.#waiting = null;
      this.#running = true;
      try {
        return await this.#runOnce(request);
      } finally {
        this.#running = false;
      }
    });
    self = run;
    if (request.nonce === undefined) this.#waiting = run;
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** The periodic refresh: skipped while another run executes or waits. */
  tick(): Promise<RunResult> | null {
    if (this.#stopped || this.busy) return null;
    return this.attest({ requestedBy: null });
  }

  async #runOnce(request: RunRequest): Promise<RunResult> {
    if (this.#profile === null || this.#profile.enrolment.mode !== this.#d.mode)
      await this.#ensureEnrolled();
    const nonce = request.nonce ?? this.#nonce();
    const { evidence, raw } = await this.#collect(nonce);
    const collectedAt = this.#now().toISOString();
    const bundle = this.#bundle(nonce, request.requestedBy, collectedAt, evidence, raw);
    const bundleText = canonicalJson(bundle);
    const bundleDigest = `sha256:${sha256Hex(bundleText)}`;
    await this.#keepBundle(bundleDigest, bundleText);
    const {
      decision,
      appended,
      lastSequence: seq,
    } = await this.#handle(
      {
        type: 'attest',
        host: this.#d.host,
        mode: this.#d.mode,
        nonce,
        requestedBy: request.requestedBy,
        policy: this.#d.policy,
        evidence,
        bundleDigest,
      },
      { causationId: request.causationId, correlationId: request.correlationId },
    );
    // Every run decides exactly one result event; without it there is nothing to serve.
    const eventId = appended?.ids[0];
    if (eventId === undefined || !isResultType(decision.events[0]?.type ?? ''))
      throw new IllegalStateError('an attestation run decided no result event');
    const stored = await this.#readStored(seq);
    if (stored === null || stored.eventId !== eventId)
      throw new IllegalStateError(
        `the stored attestation at sequence ${seq} is not the one just appended`,
      );
    this.#latest = stored;
    const outcome = outcomeOf(stored.type);
    const log = outcome === 'verified' ? this.#d.log.info : this.#d.log.warn;
    log.call(
      this.#d.log,
      {
        outcome,
        eventId: stored.eventId,
        reasons: stored.data.reasons,
        requestedBy: request.requestedBy,
      },
      'attestation recorded',
    );
    return { outcome, eventId: stored.eventId, seq, data: stored.data, stored };
  }

  async #collect(nonce: string): Promise<{ evidence: Evidence; raw: RawQuote | null }> {
    const secureBoot = await this.#d.readSecureBoot();
    const { tpm } = this.#d;
    const profile = this.#profile;
    if (tpm === null || this.#d.mode === 'software')
      return { evidence: { kind: 'software', secureBoot }, raw: null };
    let reachable = false;
    const enrolmentError = profile === null ? this.enrolmentProblem : null;
    if (profile === null || profile.akPublicPem === null || profile.akHandle === null) {
      const evidence: Evidence = {
        kind: 'tpm',
        secureBoot,
        reachable,
        enrolmentError: enrolmentError ?? 'not enrolled',
        ak: { status: 'unchecked' },
        quote: { status: 'skipped' },
      };
      return { evidence, raw: null };
    }
    const handle = profile.akHandle;
    let ak: Extract<Evidence, { kind: 'tpm' }>['ak'];
    try {
      const pem = await tpm.readPublicPem(handle);
      reachable = true;
      const digest = `sha256:${sha256Hex(pem)}`;
      ak =
        pem.trim() === profile.akPublicPem.trim()
          ? { status: 'match' }
          : { status: 'changed', digest };
    } catch (err) {
      if (err instanceof TpmError && err.code === 'TPM_HANDLE_EMPTY') {
        reachable = true;
        ak = { status: 'missing', detail: `nothing at ${handle}` };
      } else ak = { status: 'unavailable', detail: (err as Error).message.slice(0, 400) };
    }
    if (ak.status !== 'match') {
      const skipped = { status: 'skipped' } as const;
      return {
        evidence: { kind: 'tpm', secureBoot, reachable, enrolmentError, ak, quote: skipped },
        raw: null,
      };
    }
    let quote: Extract<Evidence, { kind: 'tpm' }>['quote'];
    let raw: RawQuote | null = null;
    try {
      const artifacts = await tpm.quote(handle, this.#d.policy.pcrs, nonce);
      const check = await tpm.checkQuote(profile.akPublicPem, artifacts, nonce);
      quote = {
        status: 'taken',
        message: toHex(artifacts.message),
        check: { ok: check.ok, failure: check.failure, detail: check.detail },
        pcrValues: check.pcrValues,
      };
      raw = { signature: toHex(artifacts.signature), pcrs: toHex(artifacts.pcrs) };
    } catch (err) {
      if (err instanceof TpmError && (err.code === 'TPM_UNREACHABLE' || err.code === 'TPM_TIMEOUT'))
        reachable = false;
      quote = { status: 'failed', detail: (err as Error).message.slice(0, 400) };
    }
    return { evidence: { kind: 'tpm', secureBoot, reachable, enrolmentError, ak, quote }, raw };
  }

  #bundle(
    nonce: string,
    requestedBy: ServiceName | null,
    collectedAt: string,
    evidence: Evidence,
    raw: RawQuote | null,
  ) {
    const p = this.#profile;
    return {
      kind: 'secai.runtime-attestor.bundle',
      version: 1,
      host: this.#d.host,
      mode: this.#d.mode,
      nonce,
      requestedBy,
      collectedAt,
      policy: {
        digest: this.#d.policy.digest,
        require: this.#d.policy.require,
        pcrs: this.#d.policy.pcrs,
        requireSecureBoot: this.#d.policy.requireSecureBoot,
      },
      tpm: this.#d.target
        ? { transport: this.#d.target.transport, manufacturer: this.#d.manufacturer }
        : null,
      enrolment: p
        ? {
            eventId: p.eventId,
            akHandle: p.akHandle,
            akPublicPem: p.akPublicPem,
            ...p.enrolment,
          }
        : null,
      evidence,
      // tpm2_checkquote -u <akPublicPem> -m <message> -s <signature> -f <pcrs> -g sha256 -q <nonce>
      quoteArtifacts: raw,
    };
  }

  bundleDir(): string {
    return join(this.#d.stateDir, PROFILE_DIR, 'bundles');
  }

  async #keepBundle(digest: string, text: string): Promise<void> {
    const dir = this.bundleDir();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, `${digest.slice('sha256:'.length)}.json`), text, 0o600);
    await this.#prune(dir).catch((err: unknown) =>
      this.#d.log.warn({ err }, 'could not prune old bundles'),
    );
  }

  async #prune(dir: string): Promise<void> {
    const names = (await readdir(dir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
    if (names.length <= MAX_BUNDLES) return;
    const dated = await Promise.all(
      names.map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })),
    );
    dated.sort((a, b) => b.t - a.t);
    for (const { n } of dated.slice(MAX_BUNDLES)) await unlink(join(dir, n)).catch(() => undefined);
  }

  /** The bundle a result names (its digest is in the event), parsed; null when pruned. */
  async readBundle(digest: string): Promise<unknown> {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return null;
    try {
      const text = await readFile(join(this.bundleDir(), `${digest.slice(7)}.json`), 'utf8');
      return sha256Hex(text) === digest.slice(7) ? (JSON.parse(text) as unknown) : null;
    } catch {
      return null;
    }
  }

  /** Refuses new runs and waits for the queued ones. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#chain;
  }
}

/** A stored event of `attestation/<host>` as the decider folds it; other types are skipped. */
function attestationEventOf(loaded: LoadedEvent): AttestationEvent | null {
  const { type, data } = loaded.event;
  if (type !== 'attestation.enrolled' && !isResultType(type)) return null;
  return { type, data } as AttestationEvent;
}

/** The aggregate's NATS subject (for tests and tools). */
export function attestationSubject(host: string): string {
  return eventSubject('attestation', host);
}
