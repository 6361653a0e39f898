import {
  IllegalStateError,
  canonicalJson,
  decided,
  sha256Hex,
  type Decider,
  type Decision,
  type EventData,
  type ServiceName,
} from '@secai/contracts';
import type { AttestationPolicy } from './policy.js';
import {
  PCR_BANK,
  QuoteFormatError,
  formatSelection,
  fromHex,
  parseQuote,
  pcrDigestOf,
  type QuoteInfo,
} from './quote.js';

// The attestor's rules as pure functions (ARCHITECTURE §4). The aggregate is `attestation/<host>`.
// The edge (`attestor.ts`) observes the TPM (quote, checkquote, the key at its handle, Secure
// Boot) and hands the raw evidence in; the decider checks the quote itself (nonce, selection, PCR
// digest), compares every PCR with the enrolled baseline, applies the policy and says which one
// event records the run. No I/O, no clock, no randomness: nonce and evidence come in as data.
// Decisions are the contracts' `Decision`: an attestation is never refused (a failed run is an
// event, `attestation.failed`), so only `events` and, for a run, `outcome` are set.

export type AttestationMode = EventData<'attestation.enrolled'>['mode'];
export type Outcome = 'verified' | 'degraded' | 'failed';
export type ResultType = `attestation.${Outcome}`;
export type Enrolment = EventData<'attestation.enrolled'>;
export type ResultData = EventData<'attestation.verified'> & { reasons?: string[] };

export type AttestationEvent =
  | { type: 'attestation.enrolled'; data: Enrolment }
  | {
      type: 'attestation.development_mode.declared';
      data: EventData<'attestation.development_mode.declared'>;
    }
  | { type: 'attestation.verified'; data: EventData<'attestation.verified'> }
  | { type: 'attestation.degraded'; data: EventData<'attestation.degraded'> }
  | { type: 'attestation.failed'; data: EventData<'attestation.failed'> };

export const RESULT_TYPES: readonly ResultType[] = [
  'attestation.verified',
  'attestation.degraded',
  'attestation.failed',
];
export function isResultType(type: string): type is ResultType {
  return (RESULT_TYPES as readonly string[]).includes(type);
}
export function outcomeOf(type: ResultType): Outcome {
  return type.slice('attestation.'.length) as Outcome;
}

/** Reason codes, the part before `:` in every reason: what tests and dashboards match on. */
export type ReasonCode =
  | 'software_mode'
  | 'mode_insufficient'
  | 'mode_changed'
  | 'not_enrolled'
  | 'tpm_unavailable'
  | 'ak_missing'
  | 'ak_changed'
  | 'quote_failed'
  | 'quote_malformed'
  | 'signature_invalid'
  | 'quote_unverified'
  | 'nonce_mismatch'
  | 'pcr_selection_mismatch'
  | 'pcr_digest_mismatch'
  | 'pcr_missing'
  | 'pcr_not_enrolled'
  | 'pcr_mismatch'
  | 'secure_boot_off';

/** Why `tpm2_checkquote` refused, from its own messages. */
export type CheckFailure = 'nonce' | 'signature' | 'pcr_digest' | 'other';

/** What the edge saw on the TPM for one run. */
export type Evidence =
  | { kind: 'software'; secureBoot: boolean | null }
  | {
      kind: 'tpm';
      /** UEFI Secure Boot; null when not booted with UEFI (or unreadable). */
      secureBoot: boolean | null;
      /** At least one TPM command succeeded during the run. */
      reachable: boolean;
      /** Why enrolment could not be done, when there is no enrolment. */
      enrolmentError: string | null;
      /** The public key at the enrolled handle, compared with the enrolled one. */
      ak:
        | { status: 'match' }
        | { status: 'changed'; digest: string }
        | { status: 'missing'; detail: string }
        | { status: 'unavailable'; detail: string }
        | { status: 'unchecked' };
      quote:
        | { status: 'skipped' }
        | { status: 'failed'; detail: string }
        | {
            status: 'taken';
            /** The TPMS_ATTEST bytes, hex. */
            message: string;
            check: { ok: boolean; failure: CheckFailure | null; detail: string };
            /** SHA-256 PCR values as listed by checkquote (index → 64 hex). */
            pcrValues: { index: number; value: string }[];
          };
    };

export interface AttestCommand {
  type: 'attest';
  host: string;
  mode: AttestationMode;
  nonce: string;
  requestedBy: ServiceName | null;
  policy: AttestationPolicy;
  evidence: Evidence;
  /** `sha256:` of the runtime-state bundle the edge keeps for this run. */
  bundleDigest: string;
}

export interface EnrolCommand {
  type: 'enrol';
  enrolment: Enrolment;
}

/** The attestor started in software mode: say, once per start, that this is development mode. */
export interface DeclareDevelopmentCommand {
  type: 'declare_development';
  host: string;
  mode: AttestationMode;
  policy: AttestationPolicy;
}

export type AttestationCommand = AttestCommand | EnrolCommand | DeclareDevelopmentCommand;

export type AttestationDecision = Decision<AttestationEvent>;

export interface AttestationState {
  enrolment: Enrolment | null;
  last: { outcome: Outcome; policySatisfied: boolean; nonce: string } | null;
}

export const initialState = (): AttestationState => ({ enrolment: null, last: null });

export function evolve(state: AttestationState, event: AttestationEvent): AttestationState {
  if (event.type === 'attestation.enrolled') return { ...state, enrolment: event.data };
  if (event.type === 'attestation.development_mode.declared') return state;
  return {
    ...state,
    last: {
      outcome: outcomeOf(event.type),
      policySatisfied: event.data.policySatisfied,
      nonce: event.data.nonce,
    },
  };
}

const MAX_REASONS = 32;
const MAX_REASON_LENGTH = 512;

interface Reason {
  code: ReasonCode;
  detail: string;
}
const text = (r: Reason): string => `${r.code}: ${r.detail}`.slice(0, MAX_REASON_LENGTH);

const short = (hex: string) => (hex.length > 16 ? `${hex.slice(0, 16)}…` : hex);

/** The modes ordered by what they prove. */
const RANK: Record<AttestationMode, number> = { software: 0, evaluation: 1, hardware: 2 };
const REQUIRED_RANK: Record<AttestationPolicy['require'], number> = {
  none: 0,
  evaluation: 1,
  hardware: 2,
};

/** The checks a quote passes or fails on its own, before any baseline comparison. */
export interface QuoteCheck {
  reasons: Reason[];
  info: QuoteInfo | null;
  /** Quoted PCR values (index → hex), only those of the expected selection. */
  values: Map<number, string>;
  /** Authentic, fresh, for the expected selection, values consistent with the signed digest. */
  verified: boolean;
}

/**
 * Checks one quote: what `tpm2_checkquote` said (signature with the enrolled key, its own nonce and
 * digest checks), and independently from the signed bytes: the nonce, the PCR selection and the
 * digest over the listed values. Used by enrolment and by every attestation.
 */
export function checkQuote(
  quote: Extract<Extract<Evidence, { kind: 'tpm' }>['quote'], { status: 'taken' }>,
  nonce: string,
  pcrs: readonly number[],
): QuoteCheck {
  const reasons: Reason[] = [];
  const values = new Map<number, string>();
  if (!quote.check.ok) {
    const detail = quote.check.detail || 'tpm2_checkquote refused the quote';
    switch (quote.check.failure) {
      case 'signature':
        reasons.push({
          code: 'signature_invalid',
          detail: `the quote is not signed by the enrolled attestation key (${detail})`,
        });
        break;
      case 'nonce':
        // Reported below from the signed bytes, with both values.
        break;
      case 'pcr_digest':
        reasons.push({
          code: 'pcr_digest_mismatch',
          detail: `the PCR values do not match the signed digest (${detail})`,
        });
        break;
      default:
        reasons.push({ code: 'quote_unverified', detail });
    }
  }
  let info: QuoteInfo | null = null;
  try {
    info = parseQuote(fromHex(quote.message));
  } catch (err) {
    if (!(err instanceof QuoteFormatError)) throw err;
    reasons.push({ code: 'quote_malformed', detail: err.message });
  }
  const expected = formatSelection(pcrs);
  if (info) {
    if (info.extraData !== nonce) {
      reasons.push({
        code: 'nonce_mismatch',
        detail: `the quote answers challenge ${short(info.extraData) || '(none)'}, not ${short(nonce)}: replayed or forged`,
      });
    } else if (quote.check.failure === 'nonce') {
      reasons.push({ code: 'nonce_mismatch', detail: 'tpm2_checkquote refused the nonce' });
    }
    const quoted = info.selections.map((s) => formatSelection(s.pcrs, PCR_BANK));
    const banks = info.selections.map((s) => s.bank);
    if (info.selections.length !== 1 || banks[0] !== PCR_BANK || quoted[0] !== expected) {
      const got = info.selections.map((s) => `${s.bank}:${s.pcrs.join(',')}`).join('+') || 'none';
      reasons.push({
        code: 'pcr_selection_mismatch',
        detail: `the quote covers ${got}, expected ${expected}`,
      });
    } else if (quote.check.ok) {
      // Values listed by a refused checkquote are not evidence of anything: compared only here.
      const listed = new Map(quote.pcrValues.map((p) => [p.index, p.value]));
      const ordered: string[] = [];
      for (const index of pcrs) {
        const value = listed.get(index);
        if (value === undefined) {
          reasons.push({
            code: 'pcr_missing',
            detail: `PCR ${index} (${PCR_BANK}) was not listed`,
          });
        } else {
          ordered.push(value);
          values.set(index, value);
        }
      }
      if (ordered.length === pcrs.length && pcrDigestOf(ordered) !== info.pcrDigest) {
        if (!reasons.some((r) => r.code === 'pcr_digest_mismatch'))
          reasons.push({
            code: 'pcr_digest_mismatch',
            detail: `the listed PCR values digest to ${short(pcrDigestOf(ordered))}, the quote signs ${short(info.pcrDigest)}`,
          });
      }
    }
  } else if (quote.check.failure === 'nonce') {
    reasons.push({ code: 'nonce_mismatch', detail: 'tpm2_checkquote refused the nonce' });
  }
  return { reasons, info, values, verified: reasons.length === 0 };
}

/** The enrolment a host gets from its first verified quote (the baseline is what it quoted). */
export function enrolmentFrom(input: {
  host: string;
  mode: AttestationMode;
  akPublicPem: string | null;
  pcrs: readonly number[];
  check: QuoteCheck | null;
}): Enrolment {
  if (input.mode === 'software' || input.akPublicPem === null || input.check === null) {
    return {
      host: input.host,
      mode: input.mode,
      akDigest: null,
      pcrSelection: null,
      pcrBaseline: [],
      quotedPcrDigest: null,
      deploymentDigest: null,
    };
  }
  if (!input.check.verified || !input.check.info)
    throw new IllegalStateError(
      `enrolment needs a verified quote: ${input.check.reasons.map(text).join('; ')}`,
    );
  return {
    host: input.host,
    mode: input.mode,
    akDigest: `sha256:${sha256Hex(input.akPublicPem)}`,
    pcrSelection: formatSelection(input.pcrs),
    pcrBaseline: [...input.check.values].map(([index, value]) => ({ index, value })),
    quotedPcrDigest: `sha256:${input.check.info.pcrDigest}`,
    deploymentDigest: null,
  };
}

function decideEnrol(command: EnrolCommand, state: AttestationState): AttestationDecision {
  const current = state.enrolment;
  const next = command.enrolment;
  if (current === null) return decided([{ type: 'attestation.enrolled', data: next }]);
  if (canonicalJson(current) === canonicalJson(next)) return decided([]);
  // Gaining a TPM is an upgrade; anything else replaces a baseline, which only an operator may do.
  if (current.mode === 'software' && next.mode !== 'software')
    return decided([{ type: 'attestation.enrolled', data: next }]);
  throw new IllegalStateError(
    `host ${current.host} is already enrolled (${current.mode} mode, key ${current.akDigest ?? 'none'}); re-enrolment is an operator action`,
  );
}

/**
 * Development mode is a host with no TPM that never had one enrolled: declared (recorded) so that
 * the history says the appliance ran unattested by choice. A host enrolled with a TPM that now
 * runs without one is not in development mode (its runs say `mode_changed`): nothing is declared.
 */
function decideDeclareDevelopment(
  command: DeclareDevelopmentCommand,
  state: AttestationState,
): AttestationDecision {
  if (command.mode !== 'software') return decided([]);
  const enrolled = state.enrolment?.mode;
  if (enrolled !== undefined && enrolled !== 'software') return decided([]);
  const gate =
    command.policy.require === 'none'
      ? 'attestations are recorded as degraded'
      : `attestations fail policy (require: ${command.policy.require}), so secai boot --require-attestation refuses to start`;
  return decided([
    {
      type: 'attestation.development_mode.declared',
      data: {
        host: command.host,
        mode: 'software',
        require: command.policy.require,
        policyDigest: command.policy.digest,
        detail:
          `no TPM on this host and none was ever enrolled: the appliance runs unattested, in development mode; nothing is measured, ${gate}`.slice(
            0,
            512,
          ),
      },
    },
  ]);
}

function decideAttest(command: AttestCommand, state: AttestationState): AttestationDecision {
  const { policy, evidence, mode } = command;
  const reasons: Reason[] = [];
  let tpmAvailable = false;
  let quoteVerified = false;
  let measurementsVerified = false;
  let quoteDigest: string | null = null;
  let pcrDigest: string | null = null;

  if (evidence.kind === 'software') {
    reasons.push({
      code: 'software_mode',
      detail: 'no TPM on this host (SECAI_TPM_TCTI unset, no /dev/tpmrm0): nothing was measured',
    });
    const enrolled = state.enrolment?.mode;
    if (enrolled !== undefined && enrolled !== 'software')
      reasons.push({
        code: 'mode_changed',
        detail: `enrolled in ${enrolled} mode, but no TPM answers now`,
      });
  } else {
    tpmAvailable = evidence.reachable;
    const enrolment = state.enrolment;
    if (enrolment === null || enrolment.akDigest === null) {
      reasons.push({
        code: 'not_enrolled',
        detail: evidence.enrolmentError ?? 'no attestation key is enrolled for this host',
      });
    } else if (enrolment.mode !== mode) {
      reasons.push({
        code: 'mode_changed',
        detail: `enrolled in ${enrolment.mode} mode, attesting in ${mode} mode`,
      });
    }
    const ak = evidence.ak;
    if (ak.status === 'unavailable') reasons.push({ code: 'tpm_unavailable', detail: ak.detail });
    else if (ak.status === 'missing')
      reasons.push({
        code: 'ak_missing',
        detail: `the enrolled attestation key is gone: ${ak.detail}`,
      });
    else if (ak.status === 'changed')
      reasons.push({
        code: 'ak_changed',
        detail: `another key (${ak.digest}) is at the enrolled handle, not ${enrolment?.akDigest ?? 'the enrolled one'}`,
      });
    const quote = evidence.quote;
    if (quote.status === 'failed') {
      const code: ReasonCode = evidence.reachable ? 'quote_failed' : 'tpm_unavailable';
      if (!reasons.some((r) => r.code === code)) reasons.push({ code, detail: quote.detail });
    } else if (quote.status === 'taken') {
      quoteDigest = `sha256:${sha256Hex(fromHexSafe(quote.message))}`;
      const check = checkQuote(quote, command.nonce, policy.pcrs);
      if (check.info) pcrDigest = `sha256:${check.info.pcrDigest}`;
      reasons.push(...check.reasons);
      quoteVerified =
        check.verified &&
        ak.status === 'match' &&
        enrolment !== null &&
        enrolment.akDigest !== null &&
        enrolment.mode === mode;
      if (quoteVerified && enrolment !== null) {
        const baseline = new Map(enrolment.pcrBaseline.map((p) => [p.index, p.value]));
        const before = reasons.length;
        for (const index of policy.pcrs) {
          const expected = baseline.get(index);
          const actual = check.values.get(index);
          if (expected === undefined) {
            reasons.push({
              code: 'pcr_not_enrolled',
              detail: `PCR ${index} (${PCR_BANK}) is in the policy but not in the enrolled baseline (${enrolment.pcrSelection ?? 'none'})`,
            });
          } else if (actual !== expected) {
            reasons.push({
              code: 'pcr_mismatch',
              detail: `PCR ${index} (${PCR_BANK}) expected 0x${expected} actual 0x${actual ?? '(none)'}`,
            });
          }
        }
        measurementsVerified = reasons.length === before && policy.pcrs.length > 0;
      }
    }
  }

  if (RANK[mode] < REQUIRED_RANK[policy.require]) {
    reasons.push({
      code: 'mode_insufficient',
      detail: `policy requires ${policy.require} attestation; this host attests in ${mode} mode`,
    });
  }
  const secureBoot = evidence.secureBoot === true;
  if (policy.requireSecureBoot && !secureBoot) {
    reasons.push({
      code: 'secure_boot_off',
      detail:
        evidence.secureBoot === null
          ? 'policy requires Secure Boot; this host did not boot with UEFI (or its state is unreadable)'
          : 'policy requires Secure Boot; it is off',
    });
  }

  const fatal = reasons.some((r) => isFatal(r.code, policy));
  const outcome: Outcome = reasons.length === 0 ? 'verified' : fatal ? 'failed' : 'degraded';
  const base: EventData<'attestation.verified'> = {
    host: command.host,
    mode,
    nonce: command.nonce,
    requestedBy: command.requestedBy,
    quoteDigest,
    pcrDigest,
    deploymentDigest: null,
    bundleDigest: command.bundleDigest,
    checks: {
      secureBoot,
      tpmAvailable,
      quoteVerified,
      measurementsVerified,
      deploymentVerified: false,
      releaseBaselineVerified: false,
    },
    evidenceVerified:
      mode === 'hardware' &&
      quoteVerified &&
      measurementsVerified &&
      secureBoot &&
      reasons.length === 0,
    policySatisfied: outcome !== 'failed',
  };
  if (outcome === 'verified')
    return decided([{ type: 'attestation.verified', data: base }], { outcome });
  return decided(
    [{ type: `attestation.${outcome}`, data: { ...base, reasons: capped(reasons) } }],
    {
      outcome,
    },
  );
}

function fromHexSafe(hex: string): Uint8Array {
  try {
    return fromHex(hex);
  } catch {
    return new TextEncoder().encode(hex);
  }
}

/**
 * Whether a finding fails the run under `policy`. With `require: none` attestation gates nothing,
 * so findings only degrade it (Secure Boot, when required, always fails); otherwise every finding
 * is fatal: a quote that cannot be trusted or PCRs that moved are exactly what the gate is for.
 */
export function isFatal(code: ReasonCode, policy: AttestationPolicy): boolean {
  if (code === 'secure_boot_off') return policy.requireSecureBoot;
  return policy.require !== 'none';
}

function capped(reasons: Reason[]): string[] {
  const all = reasons.map(text);
  if (all.length <= MAX_REASONS) return all;
  return [...all.slice(0, MAX_REASONS - 1), `… and ${all.length - MAX_REASONS + 1} more findings`];
}

export function decide(command: AttestationCommand, state: AttestationState): AttestationDecision {
  switch (command.type) {
    case 'enrol':
      return decideEnrol(command, state);
    case 'attest':
      return decideAttest(command, state);
    case 'declare_development':
      return decideDeclareDevelopment(command, state);
    default: {
      const never: never = command;
      throw new IllegalStateError(`unknown command ${JSON.stringify(never)}`);
    }
  }
}

export const attestationDecider: Decider<AttestationCommand, AttestationEvent, AttestationState> = {
  decide,
  evolve,
  initialState,
};

/** The reason codes of an event's reasons (`pcr_mismatch: PCR 7 …` → `pcr_mismatch`). */
export function reasonCodes(reasons: readonly string[]): string[] {
  return reasons.map((r) => r.slice(0, Math.max(0, r.indexOf(':'))) || r);
}

// ---------------------------------------------------------------------------------------------
// Mode and the boot gate

/** What the edge knows about the TPM it talks to. */
export interface TpmFacts {
  /** How it is reached: a kernel device, swtpm or another simulator/daemon; null: no TPM. */
  transport: 'device' | 'swtpm' | 'mssim' | 'other' | null;
  /** `TPM2_PT_MANUFACTURER` (`IBM` for swtpm/libtpms, `IFX`, `NTC`, `INTC`, `AMD`…); null: unknown. */
  manufacturer: string | null;
  /** The CPU says it runs under a hypervisor. */
  hypervisor: boolean;
}

/**
 * Hardware only when a kernel TPM device on bare metal answers and it is not libtpms (swtpm and
 * QEMU's vTPM report `IBM`); any simulator or VM is evaluation; no TPM at all is software.
 */
export function modeOf(facts: TpmFacts): AttestationMode {
  if (facts.transport === null) return 'software';
  if (facts.transport !== 'device') return 'evaluation';
  if (facts.hypervisor) return 'evaluation';
  if (facts.manufacturer === 'IBM') return 'evaluation';
  return 'hardware';
}

/** The latest result as the gate sees it. */
export interface LatestResult {
  eventId: string;
  type: ResultType;
  /** CloudEvent time (ISO). */
  time: string;
  data: ResultData;
}

export interface VerifyAnswer {
  satisfied: boolean;
  mode: AttestationMode;
  require: AttestationPolicy['require'];
  lastEventId: string | null;
  outcome: Outcome | 'pending';
  attestedAt: string | null;
  reasons: string[];
}

/**
 * Whether the current state satisfies the policy: the latest run's verdict, as long as it is
 * fresh (at most `maxAgeMs` old; null: no freshness limit). Before the first run: not satisfied.
 */
export function verifyAnswer(
  policy: AttestationPolicy,
  mode: AttestationMode,
  latest: LatestResult | null,
  now: Date,
  maxAgeMs: number | null,
): VerifyAnswer {
  if (latest === null)
    return {
      satisfied: false,
      mode,
      require: policy.require,
      lastEventId: null,
      outcome: 'pending',
      attestedAt: null,
      reasons: ['pending: no attestation has completed yet'],
    };
  const reasons = [...(latest.data.reasons ?? [])];
  let satisfied = latest.data.policySatisfied;
  const age = now.getTime() - Date.parse(latest.time);
  if (maxAgeMs !== null && !(age <= maxAgeMs)) {
    satisfied = false;
    reasons.push(
      `stale: the last attestation (${latest.time}) is older than ${Math.round(maxAgeMs / 1000)} s`,
    );
  }
  return {
    satisfied,
    mode: latest.data.mode,
    require: policy.require,
    lastEventId: latest.eventId,
    outcome: outcomeOf(latest.type),
    attestedAt: latest.time,
    reasons,
  };
}
