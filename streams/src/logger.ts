import { pino, type Logger } from 'pino';

/**
 * One logger shape for every process: JSON lines on stderr, service name bound, and the paths
 * that could carry secrets or raw payloads redacted (pino `redact`). Never bind untrusted objects
 * as child bindings; nest them under a key instead.
 */
export function createLogger(
  service: string,
  level = process.env.SECAI_LOG_LEVEL ?? 'info',
): Logger {
  return pino(
    {
      name: service,
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.seed',
          '*.privateKey',
          '*.token',
          '*.payload',
          '*.sig',
          '*.prompt',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

export type { Logger };
