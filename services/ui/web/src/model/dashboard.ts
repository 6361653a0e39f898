import { foldAttestation, initialAttestation, type AttestationView } from './attestation.js';
import { foldDecisions, initialDecisions, type DecisionsView } from './decisions.js';
import { foldIncidents, initialIncidents, type IncidentsView } from './incidents.js';
import { foldIntegrity, initialIntegrity, type IntegrityView } from './integrity.js';
import { foldMetrics, initialMetrics, type MetricsView } from './metrics.js';
import { foldModels, initialModels, type ModelsView } from './models.js';
import { foldPolicy, initialPolicy, type PolicyView } from './policy.js';
import { foldQuarantine, initialQuarantine, type QuarantineView } from './quarantine.js';
import { foldServices, initialServices, type ServicesView } from './services.js';
import { dataOf, type Seen } from './types.js';
import type { SealData } from './chain.js';

/** Every view model of the page, folded from verified events only. */
export interface Dashboard {
  services: ServicesView;
  attestation: AttestationView;
  integrity: IntegrityView;
  incidents: IncidentsView;
  quarantine: QuarantineView;
  models: ModelsView;
  decisions: DecisionsView;
  policy: PolicyView;
  metrics: MetricsView;
  /** The newest `audit.checkpoint.sealed` seen, with its own stream sequence. */
  lastSeal: (SealData & { sealSeq: number; time: string }) | null;
  verifiedCount: number;
}

export function initialDashboard(): Dashboard {
  return {
    services: initialServices(),
    attestation: initialAttestation(),
    integrity: initialIntegrity(),
    incidents: initialIncidents(),
    quarantine: initialQuarantine(),
    models: initialModels(),
    decisions: initialDecisions(),
    policy: initialPolicy(),
    metrics: initialMetrics(),
    lastSeal: null,
    verifiedCount: 0,
  };
}

/** Folds one verified event into every view (a view it does not concern is returned unchanged). */
export function foldDashboard(d: Dashboard, e: Seen): Dashboard {
  const seal = dataOf(e, 'audit.checkpoint.sealed');
  return {
    services: foldServices(d.services, e),
    attestation: foldAttestation(d.attestation, e),
    integrity: foldIntegrity(d.integrity, e),
    incidents: foldIncidents(d.incidents, e),
    quarantine: foldQuarantine(d.quarantine, e),
    models: foldModels(d.models, e),
    decisions: foldDecisions(d.decisions, e),
    policy: foldPolicy(d.policy, e),
    metrics: foldMetrics(d.metrics, e),
    lastSeal:
      seal && (d.lastSeal === null || seal.toSeq > d.lastSeal.toSeq)
        ? { ...seal, sealSeq: e.seq, time: e.event.time }
        : d.lastSeal,
    verifiedCount: d.verifiedCount + 1,
  };
}
