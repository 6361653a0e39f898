import type { EventData } from './catalogue.js';
import { aggregateOf, dataOf, own, type Seen } from './types.js';

// What the attestor last said about each host, and the one line the overview shows: the mode
// (hardware / evaluation / software) and, plainly, UNATTESTED whenever the hardware evidence was
// not verified (software and evaluation modes, a declared development mode, a failure, nothing seen).

export type AttestationModeName = EventData<'attestation.verified'>['mode'];
export type AttestationResult =
  'enrolled' | 'development_mode' | 'verified' | 'degraded' | 'failed';

export interface HostAttestation {
  host: string;
  mode: AttestationModeName;
  result: AttestationResult;
  evidenceVerified: boolean;
  policySatisfied: boolean | null;
  reasons: string[];
  /** The declaration's plain sentence when development mode was declared. */
  developmentDetail?: string;
  seq: number;
  time: string;
}

export type AttestationView = Readonly<Record<string, HostAttestation>>;

export const initialAttestation = (): AttestationView => ({});

export function foldAttestation(view: AttestationView, e: Seen): AttestationView {
  if (!e.event.type.startsWith('attestation.')) return view;
  const host = aggregateOf(e.event.subject).id;
  const previous = own(view, host);
  const at = { seq: e.seq, time: e.event.time };
  let entry: HostAttestation | null = null;

  const enrolled = dataOf(e, 'attestation.enrolled');
  const declared = dataOf(e, 'attestation.development_mode.declared');
  const verified = dataOf(e, 'attestation.verified');
  const degraded = dataOf(e, 'attestation.degraded');
  const failed = dataOf(e, 'attestation.failed');
  if (enrolled) {
    entry = {
      host,
      mode: enrolled.mode,
      result: 'enrolled',
      evidenceVerified: false,
      policySatisfied: null,
      reasons: [],
      ...at,
    };
  } else if (declared) {
    entry = {
      host,
      mode: 'software',
      result: 'development_mode',
      evidenceVerified: false,
      policySatisfied: null,
      reasons: [],
      developmentDetail: declared.detail,
      ...at,
    };
  } else {
    const run = verified ?? degraded ?? failed;
    if (run) {
      const result: AttestationResult = verified ? 'verified' : degraded ? 'degraded' : 'failed';
      const ran: HostAttestation = {
        host,
        mode: run.mode,
        result,
        evidenceVerified: run.evidenceVerified,
        policySatisfied: run.policySatisfied,
        reasons: degraded?.reasons ?? failed?.reasons ?? [],
        ...at,
      };
      // A run does not undo a declaration: the host still runs in development mode.
      if (previous?.developmentDetail !== undefined && run.mode === 'software') {
        ran.developmentDetail = previous.developmentDetail;
      }
      entry = ran;
    }
  }
  return entry === null ? view : { ...view, [host]: entry };
}

export interface AttestationSummary {
  /** The mode of the host(s); null when nothing was seen. */
  mode: AttestationModeName | null;
  attested: boolean;
  /** One sentence for the overview, UNATTESTED spelled out when it is. */
  say: string;
}

export function attestationSummary(view: AttestationView): AttestationSummary {
  const hosts = Object.values(view).sort((a, b) => a.host.localeCompare(b.host));
  const first = hosts[0];
  if (first === undefined) {
    return { mode: null, attested: false, say: 'UNATTESTED: no attestation has been seen.' };
  }
  const failed = hosts.find((h) => h.result === 'failed');
  if (failed) {
    return {
      mode: failed.mode,
      attested: false,
      say: `UNATTESTED: attestation FAILED on ${failed.host} (${failed.mode} mode): ${failed.reasons.join('; ')}`,
    };
  }
  const unattested = hosts.find((h) => !h.evidenceVerified);
  if (unattested) {
    const why =
      unattested.result === 'development_mode'
        ? `development mode declared, ${unattested.developmentDetail ?? 'no TPM'}`
        : unattested.mode === 'hardware'
          ? `hardware evidence not verified (${unattested.result})`
          : `${unattested.mode} mode: no hardware evidence`;
    return {
      mode: unattested.mode,
      attested: false,
      say: `UNATTESTED (${unattested.mode}): ${why}.`,
    };
  }
  const degraded = hosts.find((h) => h.result === 'degraded');
  return {
    mode: first.mode,
    attested: true,
    say: degraded
      ? `Attested (${first.mode}), degraded: ${degraded.reasons.join('; ')}`
      : `Attested (${first.mode}): hardware evidence verified.`,
  };
}
