import { issueBearerToken, SERVICE_PORTS, type ServiceName } from '@secai/contracts';
import type { Problem } from '@secai/streams/http';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { gatewayFailure } from '../failures.js';

// The HTTP gateways of the runtime zone (inference 8465, GPU integrity watch 8495) as the CLI
// calls them: the cli identity's signed bearer token for the service's audience, the address
// from --url, an environment variable, the port `secai boot` recorded, or the documented port
// (as `secai incident` finds the recorder).

/** A gateway the CLI talks to: the service, what to call it in messages, its address variable. */
export interface Gateway {
  service: ServiceName;
  label: string;
  envVar: string;
}

export const INFERENCE: Gateway = {
  service: 'inference',
  label: 'inference service',
  envVar: 'SECAI_INFERENCE_URL',
};

export const GPU_WATCH: Gateway = {
  service: 'gpu-integrity-watch',
  label: 'GPU integrity watch',
  envVar: 'SECAI_GPU_WATCH_URL',
};

/**
 * `--url`, else `$<envVar>`, else the port `secai boot` recorded (it honours `--port-offset`),
 * else the documented port on loopback (pure, but for reading the environment).
 */
export function gatewayUrl(gateway: Gateway, url?: string, bootedPort?: number): string {
  const documented = SERVICE_PORTS[gateway.service];
  const raw =
    url ??
    process.env[gateway.envVar] ??
    (bootedPort !== undefined
      ? `http://127.0.0.1:${bootedPort}`
      : `http://127.0.0.1:${documented ?? 0}`);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new CliError('USAGE', `${raw} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliError('USAGE', `${raw} is not an http(s) URL`);
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    throw new CliError('USAGE', `${raw}: no credentials, query or fragment`);
  return raw.replace(/\/+$/, '');
}

/** The address of `gateway` for this context (the booted port when boot recorded one). */
export function gatewayUrlOf(ctx: CliContext, gateway: Gateway, url?: string): string {
  return gatewayUrl(gateway, url, ctx.httpPorts[gateway.service]);
}

/** A fresh bearer token of the cli identity for `gateway` (they live five minutes). */
export function tokenFor(ctx: CliContext, gateway: Gateway): string {
  return issueBearerToken(ctx.signer, { audience: gateway.service, now: new Date() });
}

/**
 * A failure to reach `gateway` at `url`: as `gatewayFailure` names it, with the address hint
 * naming this gateway's own variable.
 */
export function reachFailure(err: unknown, gateway: Gateway, url: string): CliError {
  const failure = gatewayFailure(err, url, gateway.label);
  if (failure.code !== 'NOT_RUNNING') return failure;
  return new CliError(
    'NOT_RUNNING',
    `cannot reach the ${gateway.label} at ${url}: nothing listens there (is it running? --url or ${gateway.envVar} name another address)`,
    { cause: err },
  );
}

/** A refusal from a gateway, named by its status and problem code (pure). */
export function refusalOf(status: number, problem: Partial<Problem>, gateway: Gateway): CliError {
  return new CliError(
    'REFUSED',
    `${status} ${problem.code ?? 'HTTP_ERROR'}: ${problem.detail ?? `the ${gateway.label} refused`}`,
  );
}

/** One request to `gateway` as the cli identity; a non-2xx answer throws its refusal. */
export async function callGateway(
  ctx: CliContext,
  gateway: Gateway,
  url: string,
  path: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${tokenFor(ctx, gateway)}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
    });
  } catch (cause) {
    throw reachFailure(cause, gateway, url);
  }
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as Partial<Problem>;
    throw refusalOf(res.status, problem, gateway);
  }
  return res;
}
