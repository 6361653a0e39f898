import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import {
  watchBus,
  type EventStore,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
} from '@secai/streams';
import { Attestor, type RunResult } from './attestor.js';
import { serveCommands, type ServedCommands } from './commandHandlers.js';
import { modeOf, type AttestationMode } from './decider.js';
import { buildHttp } from './http.js';
import { ensurePolicyFile, loadPolicyFile, type AttestationPolicy } from './policy.js';
import { loadProfile } from './profile.js';
import {
  DEFAULT_AK_HANDLE,
  Tpm2Tools,
  readSecureBoot,
  resolveTpm,
  runsUnderHypervisor,
  type TpmPort,
  type TpmTarget,
} from './tpm.js';

/** One identity connected to the bus (a `ServiceRuntime`, or a test appliance's client). */
export interface AttestorConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `runtime-attestor`; its trust store verifies everything read. */
  store: EventStore;
}

export interface StartAttestorOptions {
  stateDir: string;
  policyDir: string;
  /** `SECAI_TPM_TCTI`: null = `/dev/tpmrm0` if present, else software; `none` = software. */
  tcti: string | null;
  /** Overrides the policy's interval; 0 = no periodic re-attestation; null = the policy's. */
  intervalMs: number | null;
  akHandle?: string;
  log: Logger;
  /** The aggregate id; default: the enrolled one, else this machine's host name. */
  host?: string;
  /** Wraps the real TPM edge (tests tamper with what crosses it). */
  wrapTpm?: (tpm: Tpm2Tools) => TpmPort;
  /** Where Secure Boot is read (default: the UEFI efivar). */
  secureBootPath?: string;
  /** Probe for a hypervisor (default: /proc/cpuinfo); tests pin the mode with it. */
  hypervisor?: () => Promise<boolean>;
  now?: () => Date;
}

export interface RunningAttestor {
  attestor: Attestor;
  policy: AttestationPolicy;
  mode: AttestationMode;
  target: TpmTarget | null;
  commands: ServedCommands;
  /** The gateway, not yet listening (`main` listens; tests inject). */
  http: FastifyInstance;
  /** The start-up attestation. */
  initial: RunResult;
  /** Effective periodic interval in ms (0 = off). */
  intervalMs: number;
  stop(): Promise<void>;
}

/** A host name as one subject token (`secai.evt.attestation.<host>`). */
export function hostIdOf(name: string): string {
  const id = name
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return id || 'host';
}

/**
 * Wires the attestor: the policy (installed on first start), the TPM and the mode, enrolment,
 * the start-up attestation, the `attest` command, the gateway and the periodic refresh.
 */
export async function startAttestor(
  conn: AttestorConnection,
  options: StartAttestorOptions,
): Promise<RunningAttestor> {
  const { log } = options;
  const { path: policyPath, installed } = await ensurePolicyFile(options.policyDir);
  if (installed) log.info({ path: policyPath }, 'installed the default attestation policy');
  const policy = await loadPolicyFile(policyPath);

  const target = await resolveTpm(options.tcti);
  const real = target ? new Tpm2Tools({ tcti: target.tcti }) : null;
  const tpm = real && options.wrapTpm ? options.wrapTpm(real) : real;
  let manufacturer: string | null = null;
  if (tpm) {
    manufacturer = await tpm.manufacturer().catch((err: unknown) => {
      log.error({ err, tcti: target?.tcti }, 'the TPM does not answer');
      return null;
    });
  }
  const mode = modeOf({
    transport: target?.transport ?? null,
    manufacturer,
    hypervisor: await (options.hypervisor ?? (() => runsUnderHypervisor()))(),
  });
  const enrolledHost = await loadProfile(options.stateDir).then(
    (p) => p?.enrolment.host ?? null,
    () => null,
  );
  const host = options.host ?? enrolledHost ?? hostIdOf(hostname());

  const attestor = new Attestor({
    store: conn.store,
    jsm: conn.jsm,
    stateDir: options.stateDir,
    host,
    mode,
    policy,
    tpm,
    target,
    manufacturer,
    akHandle: options.akHandle ?? DEFAULT_AK_HANDLE,
    readSecureBoot: () => readSecureBoot(options.secureBootPath),
    log,
    ...(options.now ? { now: options.now } : {}),
  });
  await attestor.init();
  const initial = await attestor.attest({ requestedBy: null });

  const intervalMs = options.intervalMs ?? policy.intervalSeconds * 1000;
  const commands = serveCommands(conn.nc, {
    attestor,
    signer: conn.store.signer,
    trust: conn.store.trust,
    events: conn.store,
    log,
  });
  // What /health reports of the bus, and what turns an attestation away at once while it is down.
  const bus = watchBus(conn.nc);
  const http = buildHttp({
    attestor,
    trust: conn.store.trust,
    bus,
    // Two missed refreshes and a minute of slack: a stuck timer closes the gate.
    maxAgeMs: intervalMs > 0 ? 2 * intervalMs + 60_000 : null,
    log,
    ...(options.now ? { now: options.now } : {}),
  });
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          attestor
            .tick()
            ?.catch((err: unknown) => log.error({ err }, 'periodic attestation failed'));
        }, intervalMs).unref()
      : null;
  log.info(
    { host, mode, tcti: target?.tcti ?? null, manufacturer, require: policy.require, intervalMs },
    'runtime attestor started',
  );

  let stopped = false;
  return {
    attestor,
    policy,
    mode,
    target,
    commands,
    http,
    initial,
    intervalMs,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      bus.stop();
      commands.stop();
      await attestor.stop();
    },
  };
}
