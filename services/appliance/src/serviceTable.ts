import { fileURLToPath } from 'node:url';
import { SERVICE_PORTS, type ServiceName } from '@secai/contracts';
import { ApplianceError } from './errors.js';

/** A service the supervisor runs as its own process. */
export interface ServiceDefinition {
  name: ServiceName;
  /** Module specifier of its entry point, resolved at boot. */
  entry: string;
  dependsOn: readonly ServiceName[];
  port: number | undefined;
}

/**
 * Services that exist in this release. Later issues add theirs here; the runtime attestor comes
 * first once it exists, because the others start only when attestation satisfies policy.
 */
export const SERVICE_DEFINITIONS: readonly ServiceDefinition[] = [
  {
    // First: boot asks it whether the host is attested before it starts anything else.
    name: 'runtime-attestor',
    entry: '@secai/runtime-attestor/main',
    dependsOn: [],
    port: SERVICE_PORTS['runtime-attestor'],
  },
  {
    name: 'policy-engine',
    entry: '@secai/policy-engine/main',
    dependsOn: [],
    port: SERVICE_PORTS['policy-engine'],
  },
  {
    name: 'incident-recorder',
    entry: '@secai/incident-recorder/main',
    dependsOn: [],
    port: SERVICE_PORTS['incident-recorder'],
  },
  {
    name: 'registry',
    entry: '@secai/registry/main',
    dependsOn: [],
    port: SERVICE_PORTS.registry,
  },
  {
    // Bus only: its runs wait for the engine's promotion decisions and end in the registry.
    name: 'quarantine',
    entry: '@secai/quarantine/main',
    dependsOn: ['policy-engine', 'registry'],
    port: undefined,
  },
  {
    // Serves only what the registry's manifest lists, within the policy's limits.
    name: 'inference',
    entry: '@secai/inference/main',
    dependsOn: ['policy-engine', 'registry'],
    port: SERVICE_PORTS.inference,
  },
  {
    // Its sentinel runs through inference; its tensor hashes read the registry's store.
    name: 'gpu-integrity-watch',
    entry: '@secai/gpu-integrity-watch/main',
    dependsOn: ['inference', 'registry'],
    port: SERVICE_PORTS['gpu-integrity-watch'],
  },
  {
    // Checks models against the registry's manifest, so it comes after the registry.
    name: 'integrity-monitor',
    entry: '@secai/integrity-monitor/main',
    dependsOn: ['registry'],
    port: SERVICE_PORTS['integrity-monitor'],
  },
  {
    // Asks the engine about every tool call; runs tools on the workspace (<state>/vault).
    name: 'tool-firewall',
    entry: '@secai/tool-firewall/main',
    dependsOn: ['policy-engine'],
    port: SERVICE_PORTS['tool-firewall'],
  },
  {
    // Asks the engine about every MCP request; launches the local MCP servers policy names.
    name: 'mcp-firewall',
    entry: '@secai/mcp-firewall/main',
    dependsOn: ['policy-engine'],
    port: SERVICE_PORTS['mcp-firewall'],
  },
  {
    // The operator's browser: its actions are commands to these services; the page itself
    // reads the bus over the websocket listener as the read-only dashboard identity.
    name: 'ui',
    entry: '@secai/ui/main',
    dependsOn: ['incident-recorder', 'registry', 'quarantine', 'policy-engine'],
    port: SERVICE_PORTS.ui,
  },
];

export function resolveEntry(def: ServiceDefinition): string {
  return fileURLToPath(import.meta.resolve(def.entry));
}

/** Dependency order (Kahn's algorithm, stable by definition order); a cycle is an error. */
export function startOrder(defs: readonly ServiceDefinition[]): ServiceDefinition[] {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const done = new Set<string>();
  const order: ServiceDefinition[] = [];
  while (order.length < defs.length) {
    const next = defs.find(
      (d) => !done.has(d.name) && d.dependsOn.every((dep) => done.has(dep) || !byName.has(dep)),
    );
    if (!next) {
      const stuck = defs.filter((d) => !done.has(d.name)).map((d) => d.name);
      throw new ApplianceError(
        'DEPENDENCY_CYCLE',
        `services depend on each other in a cycle: ${stuck.join(', ')}`,
      );
    }
    done.add(next.name);
    order.push(next);
  }
  return order;
}
