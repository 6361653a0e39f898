// Stage worker: the static scan (stage 5), run by `runStage('static_scan', …)` inside the sandbox
// (nobody, no network, the artifact read-only). Reads `{ path, kind, params: { thresholds? } }` on
// stdin and prints one verdict; the logic lives in scan/staticScan.ts. `thresholds` is a flat
// object of numbers overriding DEFAULT_STATIC_SCAN_THRESHOLDS (scan/thresholds.ts).
import { parseStaticScanThresholds } from '../scan/thresholds.js';
import { staticScan } from '../scan/staticScan.js';
import { printVerdict, readRequest } from './io.js';

const request = await readRequest<{ thresholds?: unknown } | undefined>();
const parsed = parseStaticScanThresholds(request.params?.thresholds);
if (!parsed.ok) {
  printVerdict({ passed: false, reasonCode: 'invalid_params', detail: parsed.detail });
} else {
  const v = await staticScan({ path: request.path, kind: request.kind }, parsed.thresholds);
  printVerdict({ passed: v.passed, reasonCode: v.reasonCode, detail: v.detail, ...v.facts });
}
