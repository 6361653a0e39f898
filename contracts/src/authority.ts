import type { EventType } from './events/index.js';
import { mcpAuthority } from './events/mcp.js';
import { toolAuthority } from './events/tools.js';
import type { ServiceName } from './services.js';
import { SERVICES } from './services.js';

/**
 * Who may emit what. `every-service` types live on the emitter's own `service/<name>` aggregate
 * (the verifier checks that the aggregate id equals the signer); all other types name their
 * emitters explicitly, and most have exactly one. NATS permissions are generated from this table,
 * so a forged event is refused twice: by the server and by every consumer.
 */
export type Emitters = readonly ServiceName[] | 'every-service';

export const AUTHORITY: Readonly<Record<EventType, Emitters>> = {
  'service.started': 'every-service',
  'service.stopped': 'every-service',
  'security.envelope.rejected': 'every-service',
  'service.failed': ['appliance'],
  'identity.root.created': ['appliance'],
  'identity.issued': ['appliance'],
  'identity.revoked': ['appliance'],
  'security.bus.violation': ['appliance'],
  'audit.checkpoint.sealed': ['incident-recorder'],

  'model.acquired': ['quarantine'],
  'quarantine.started': ['quarantine'],
  'quarantine.stage.passed': ['quarantine'],
  'quarantine.stage.failed': ['quarantine'],
  'quarantine.completed': ['quarantine'],
  'model.promoted': ['quarantine'],
  'model.rejected': ['quarantine'],
  'model.stored': ['registry'],
  'model.verified': ['registry'],
  'model.verification.failed': ['registry'],
  'model.contained': ['registry'],
  'model.removed': ['registry'],
  'model.behavior.anomaly': ['inference'],

  'policy.loaded': ['policy-engine'],
  'policy.load.failed': ['policy-engine'],
  'policy.decided': ['policy-engine'],
  'policy.decisions.recorded': ['policy-engine'],

  'attestation.enrolled': ['runtime-attestor'],
  'attestation.development_mode.declared': ['runtime-attestor'],
  'attestation.verified': ['runtime-attestor'],
  'attestation.degraded': ['runtime-attestor'],
  'attestation.failed': ['runtime-attestor'],
  'integrity.baseline.created': ['integrity-monitor'],
  'integrity.rebaselined': ['integrity-monitor'],
  'integrity.violation.detected': ['integrity-monitor'],
  'integrity.state.changed': ['integrity-monitor'],
  'incident.opened': ['incident-recorder'],
  'incident.observation.attached': ['incident-recorder'],
  'incident.escalated': ['incident-recorder'],
  'incident.containment.requested': ['incident-recorder'],
  'incident.containment.action.completed': ['incident-recorder'],
  'incident.contained': ['incident-recorder'],
  'incident.containment.failed': ['incident-recorder'],
  'incident.acknowledged': ['incident-recorder'],
  'incident.resolved': ['incident-recorder'],

  'inference.model.loaded': ['inference'],
  'inference.model.unloaded': ['inference'],
  'inference.model.refused': ['inference'],
  'inference.session.opened': ['inference'],
  'inference.session.closed': ['inference'],
  'inference.request.completed': ['inference'],
  'inference.request.failed': ['inference'],
  'inference.key.created': ['inference'],
  'inference.key.revoked': ['inference'],
  'gpu.baseline.captured': ['gpu-integrity-watch'],
  'gpu.probe.completed': ['gpu-integrity-watch'],
  'gpu.anomaly.detected': ['gpu-integrity-watch'],

  ...toolAuthority,
  ...mcpAuthority,
};

export function mayEmit(service: string, type: EventType): boolean {
  const emitters = AUTHORITY[type];
  return emitters === 'every-service' || (emitters as readonly string[]).includes(service);
}

export function emittersOf(type: EventType): readonly ServiceName[] {
  const emitters = AUTHORITY[type];
  return emitters === 'every-service' ? SERVICES : emitters;
}
