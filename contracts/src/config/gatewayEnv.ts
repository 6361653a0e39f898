import { SERVICE_PORTS, type ServiceName } from '../services.js';
import { ConfigError } from './error.js';
import { envInteger, envString } from './readEnv.js';

/**
 * The variables of a service's HTTP gateway, as a `readEnv` spec fragment: `SECAI_HTTP_HOST`
 * (loopback unless told otherwise) and `SECAI_HTTP_PORT` (the service's documented port).
 *
 * @example
 * const v = readEnv(env, { ...gatewayEnv('registry'), SECAI_STATE_DIR: envPath({ required: true }) });
 */
export function gatewayEnv(service: ServiceName) {
  const port = SERVICE_PORTS[service];
  if (port === undefined)
    throw new ConfigError('CONFIG_INVALID', 'SECAI_HTTP_PORT', undefined, `a port for ${service}`);
  return {
    SECAI_HTTP_HOST: envString({ default: '127.0.0.1', maxLength: 255 }),
    SECAI_HTTP_PORT: envInteger({ min: 1, max: 65535, default: port }),
  } as const;
}
