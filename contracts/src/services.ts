/**
 * Every identity on the bus (ARCHITECTURE §2). Each gets its own certificate, key and NATS user.
 * `dashboard` is a NATS user only: it reads and never signs.
 */
export const SERVICES = [
  'appliance',
  'cli',
  'airlock',
  'quarantine',
  'registry',
  'inference',
  'tool-firewall',
  'mcp-firewall',
  'search-mediator',
  'agent',
  'policy-engine',
  'runtime-attestor',
  'integrity-monitor',
  'incident-recorder',
  'gpu-integrity-watch',
  'ui',
] as const;

export type ServiceName = (typeof SERVICES)[number];

export function isServiceName(value: string): value is ServiceName {
  return (SERVICES as readonly string[]).includes(value);
}

/** Documented HTTP ports (127.0.0.1 by default); services without one talk over the bus only. */
export const SERVICE_PORTS: Partial<Record<ServiceName, number>> = {
  airlock: 8490,
  registry: 8470,
  inference: 8465,
  'tool-firewall': 8475,
  'mcp-firewall': 8496,
  'search-mediator': 8485,
  agent: 8476,
  'policy-engine': 8500,
  'runtime-attestor': 8505,
  'integrity-monitor': 8510,
  'incident-recorder': 8515,
  'gpu-integrity-watch': 8495,
  ui: 8480,
};

export function sourceOf(service: string): string {
  return `secai://${service}`;
}

/** `secai://quarantine` → `quarantine`, or null when the source is not ours. */
export function serviceOfSource(source: string): string | null {
  return source.startsWith('secai://') ? source.slice('secai://'.length) : null;
}
