import { issueBearerToken, SERVICE_PORTS, type Signer } from '@secai/contracts';
import { readRuntimeInfo } from '@secai/streams';
import { UiError } from './errors.js';

// The incident export download: the same bundle `secai incident export` writes, fetched from the
// incident recorder's gateway (the one place the incident machine runs and the export is sealed)
// with a bearer token of the `ui` identity, and handed to the browser as a file. The UI does not
// build bundles itself.

export interface ExportDeps {
  signer: Signer;
  stateDir: string;
  /** Overrides the address boot recorded (config `SECAI_INCIDENT_RECORDER_URL`, tests). */
  recorderUrl: string | null;
}

export interface ExportDownload {
  bytes: Buffer;
  /** Headers relayed from the recorder (content type, disposition, the bundle's range). */
  headers: Record<string, string>;
}

const RELAYED = [
  'content-type',
  'content-disposition',
  'secai-bundle-from-seq',
  'secai-bundle-to-seq',
  'secai-bundle-sealed',
  'secai-selection-count',
  'secai-selection',
];

/** Bundles the recorder makes are at most 64 MiB; anything larger is not one of them. */
const MAX_BYTES = 64 * 1024 * 1024 + 4096;

async function recorderBase(deps: ExportDeps): Promise<string> {
  if (deps.recorderUrl) return deps.recorderUrl;
  const info = await readRuntimeInfo(deps.stateDir);
  const port = info?.httpPorts?.['incident-recorder'] ?? SERVICE_PORTS['incident-recorder'];
  return `http://127.0.0.1:${port}`;
}

export async function fetchIncidentExport(deps: ExportDeps, id: string): Promise<ExportDownload> {
  const base = await recorderBase(deps);
  const token = issueBearerToken(deps.signer, { audience: 'incident-recorder', now: new Date() });
  let res: Response;
  try {
    res = await fetch(`${base}/api/v1/incidents/${encodeURIComponent(id)}/export`, {
      headers: { authorization: `Bearer ${token}` },
      redirect: 'error',
      signal: AbortSignal.timeout(120_000),
    });
  } catch (cause) {
    throw new UiError('EXPORT_UNAVAILABLE', 'the incident recorder cannot be reached', {
      cause,
      retryAfterSeconds: 5,
    });
  }
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
    if (res.status === 404) throw new UiError('INCIDENT_UNKNOWN', `no incident ${id}`);
    throw new UiError(
      'EXPORT_UNAVAILABLE',
      `the incident recorder answered ${res.status} ${problem.code ?? ''}: ${problem.detail ?? ''}`.slice(
        0,
        1024,
      ),
    );
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_BYTES) throw new UiError('EXPORT_UNAVAILABLE', 'the bundle is too large');
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length > MAX_BYTES) throw new UiError('EXPORT_UNAVAILABLE', 'the bundle is too large');
  const headers: Record<string, string> = {};
  for (const name of RELAYED) {
    const value = res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  headers['content-type'] ??= 'application/x-ndjson';
  headers['content-disposition'] = `attachment; filename="incident-${id}.bundle.jsonl"`;
  return { bytes, headers };
}
