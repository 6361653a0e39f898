import { CliError } from './errors.js';

// How a failed exchange with a service is reported (pure). "Not running" is only said when
// nothing answers at all: a refusal, a late answer, a forged reply or a stranger at the address
// each keep their own name, so the operator is not sent to restart what is in fact running.

/** Errno codes that mean nothing listens at the address (or the address leads nowhere). */
const NOTHING_LISTENS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/**
 * A `sendCommand` failure: nothing subscribes (NOT_RUNNING), no answer in time (TIMEOUT); any
 * other failure (a reply that does not verify, a signing error) is returned as it is.
 */
export function commandFailure(err: unknown, service: string): Error {
  const message = (err as Error).message;
  if (codeOf(err) === 'COMMAND_TARGET_ABSENT')
    return new CliError('NOT_RUNNING', `no ${service} is running: ${message}`, { cause: err });
  if (codeOf(err) === 'COMMAND_TIMEOUT')
    return new CliError('TIMEOUT', `the ${service} did not answer: ${message}`, { cause: err });
  return err as Error;
}

/** A `fetch` failure toward `url`: what the cause chain says, never "not running" by default. */
export function gatewayFailure(err: unknown, url: string, service: string): CliError {
  const chain: unknown[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++)
    chain.push(e);
  // fetch wraps the socket error: TypeError('fetch failed') → Error { code: 'ECONNREFUSED' }.
  if (chain.some((e) => NOTHING_LISTENS.has(String(codeOf(e)))))
    return new CliError(
      'NOT_RUNNING',
      `cannot reach the ${service} at ${url}: nothing listens there (is it running? --url or SECAI_INCIDENT_RECORDER_URL name another address)`,
      { cause: err },
    );
  if (chain.some((e) => (e as Error).name === 'TimeoutError'))
    return new CliError('TIMEOUT', `the ${service} at ${url} did not answer in time`, {
      cause: err,
    });
  const innermost = (chain[chain.length - 1] as Error | undefined)?.message ?? String(err);
  return new CliError('GATEWAY_FAILED', `the request to ${url} failed: ${innermost}`, {
    cause: err,
  });
}
