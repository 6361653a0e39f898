import type { TrustBundle } from '@secai/contracts/web';

// The UI service's HTTP API (same origin, session cookie). Every state change carries the
// session's CSRF token in `X-CSRF-Token`; errors arrive as problem bodies.

export interface AuthStatus {
  configured: boolean;
  authenticated: boolean;
  operator?: string;
  csrfToken?: string;
  session?: {
    idleSeconds: number;
    ageSeconds: number;
    idleTimeout: number;
    absoluteTimeout: number;
  };
}

export interface BusCredentials {
  websocketUrl: string;
  user: 'dashboard';
  seed: string;
  inboxPrefix: string;
  stream: string;
  rootCertificatePem: string;
  rootKeyid: string;
  trustBundle: TrustBundle;
}

/** A refused request, with the problem body's stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    /** Seconds to wait, from Retry-After (429 lockout). */
    readonly retryAfter: number | null,
  ) {
    super(detail || title);
  }
}

let csrfToken: string | null = null;
let sessionLost: ((code: string) => void) | null = null;

/** Called when the service answers 401 to a logged-in request (the session ended or expired). */
export function onSessionLost(handler: ((code: string) => void) | null): void {
  sessionLost = handler;
}

/** The token every mutation sends (from the login answer or /api/auth/status). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const parsed: unknown = text.length > 0 ? safeJson(text) : null;
  if (!response.ok) {
    const problem = (parsed ?? {}) as Partial<Record<'code' | 'title' | 'detail', string>>;
    const retry = Number(response.headers.get('retry-after'));
    if (response.status === 401 && !path.startsWith('/api/auth/')) {
      sessionLost?.(problem.code ?? 'SESSION_REQUIRED');
    }
    throw new ApiError(
      response.status,
      problem.code ?? `HTTP_${response.status}`,
      problem.title ?? response.statusText,
      problem.detail ?? '',
      Number.isFinite(retry) && retry > 0 ? retry : null,
    );
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export const api = {
  status: () => call<AuthStatus>('GET', '/api/auth/status'),
  setup: (setupCode: string, operator: string, passphrase: string) =>
    call<unknown>('POST', '/api/auth/setup', { setupCode, operator, passphrase }),
  login: (passphrase: string) =>
    call<{ operator: string; csrfToken: string }>('POST', '/api/auth/login', { passphrase }),
  logout: () => call<unknown>('POST', '/api/auth/logout', {}),
  changePassphrase: (current: string, next: string) =>
    call<unknown>('POST', '/api/auth/change', { current, next }),
  bus: () => call<BusCredentials>('GET', '/api/bus'),
  importModel: (path: string, name?: string) =>
    call<Record<string, unknown>>('POST', '/api/models/import', name ? { path, name } : { path }),
  modelAction: (action: 'contain' | 'remove', digestHex: string, reason: string) =>
    call<Record<string, unknown>>(
      'POST',
      `/api/models/${encodeURIComponent(digestHex)}/${action}`,
      {
        reason,
      },
    ),
  incidentStep: (step: 'acknowledge' | 'resolve', id: string, note: string) =>
    call<Record<string, unknown>>('POST', `/api/incidents/${encodeURIComponent(id)}/${step}`, {
      note,
    }),
  whatIf: (policy: Record<string, string>, decisionIds: string[]) =>
    call<unknown>('POST', '/api/policy/what-if', {
      policy,
      ...(decisionIds.length ? { decisionIds } : {}),
    }),
};

export const incidentExportUrl = (id: string) => `/api/incidents/${encodeURIComponent(id)}/export`;
