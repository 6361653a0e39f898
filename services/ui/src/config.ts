import { fileURLToPath } from 'node:url';
import { envBoolean, envInteger, envPath, envString, gatewayEnv, readEnv } from '@secai/contracts';
import { DEFAULT_SESSION_LIMITS, type SessionLimits } from './sessionRules.js';

export interface UiConfig {
  stateDir: string;
  host: string;
  port: number;
  /** `services/ui/web/dist`: the built page and its assets. */
  webDist: string;
  /**
   * Cookies are `Secure` on every response (a TLS proxy in front); a request that arrives over
   * TLS gets them `Secure` anyway.
   */
  secureCookies: boolean;
  /** Host names (besides 127.0.0.1, localhost and ::1) the UI answers to. */
  allowedHosts: readonly string[];
  /** The incident recorder's gateway (for the export); null: the port boot recorded. */
  recorderUrl: string | null;
  /** The bus's websocket as boot passed it; runtime.json is read first (it may change). */
  websocketUrl: string | null;
  sessions: SessionLimits;
}

const HOST_LIST = /^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)*$/;

/** Where the front end's build lands, next to this package's dist/ and src/. */
export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../web/dist', import.meta.url));

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<UiConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    ...gatewayEnv('ui'),
    SECAI_UI_WEB_DIST: envPath({ default: DEFAULT_WEB_DIST }),
    SECAI_UI_SECURE_COOKIES: envBoolean({ default: false }),
    SECAI_UI_ALLOWED_HOSTS: envString({
      pattern: HOST_LIST,
      maxLength: 1024,
      expected: 'comma-separated host names',
    }),
    SECAI_INCIDENT_RECORDER_URL: envString({
      pattern: /^https?:\/\/[A-Za-z0-9.[\]:-]+\/?$/,
      maxLength: 256,
      expected: 'http(s)://host:port',
    }),
    SECAI_NATS_WEBSOCKET_URL: envString({
      pattern: /^wss?:\/\/[A-Za-z0-9.[\]:-]+\/?$/,
      maxLength: 256,
      expected: 'ws(s)://host:port',
    }),
    SECAI_UI_SESSION_IDLE_SECONDS: envInteger({
      min: 60,
      max: 24 * 3600,
      default: DEFAULT_SESSION_LIMITS.idleSeconds,
    }),
    SECAI_UI_SESSION_ABSOLUTE_SECONDS: envInteger({
      min: 300,
      max: 7 * 24 * 3600,
      default: DEFAULT_SESSION_LIMITS.absoluteSeconds,
    }),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
    webDist: v.SECAI_UI_WEB_DIST,
    secureCookies: v.SECAI_UI_SECURE_COOKIES,
    allowedHosts: Object.freeze(v.SECAI_UI_ALLOWED_HOSTS?.split(',') ?? []),
    recorderUrl: v.SECAI_INCIDENT_RECORDER_URL?.replace(/\/+$/, '') ?? null,
    websocketUrl: v.SECAI_NATS_WEBSOCKET_URL ?? null,
    sessions: Object.freeze({
      idleSeconds: v.SECAI_UI_SESSION_IDLE_SECONDS,
      absoluteSeconds: v.SECAI_UI_SESSION_ABSOLUTE_SECONDS,
    }),
  });
}
