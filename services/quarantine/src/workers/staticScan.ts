// Stage worker: the static scan (stage 5), run by `runStage('static_scan', …)` inside the sandbox
// (nobody, no network, the artifact read-only). Reads `{ path, kind, params: { thresholds?,
// formatLimits? } }` on stdin and prints one verdict. A thin shell: scan/staticScan.ts runs the
// scanners, stages/staticScan.ts decides. `thresholds` overrides DEFAULT_STATIC_SCAN_THRESHOLDS
// (scan/thresholds.ts), `formatLimits` the readers' bounds (stages/formatLimits.ts).
import { parseStaticScanThresholds } from '../scan/thresholds.js';
import { staticScan } from '../scan/staticScan.js';
import { parseFormatLimits, readerLimitsOf } from '../stages/formatLimits.js';
import { workerOutput } from '../stages/verdict.js';
import { printVerdict, readRequest } from './io.js';

const request = await readRequest<{ thresholds?: unknown; formatLimits?: unknown } | undefined>();
const thresholds = parseStaticScanThresholds(request.params?.thresholds);
const limits = parseFormatLimits(request.params?.formatLimits);
if (!thresholds.ok || !limits.ok) {
  const detail = !thresholds.ok ? thresholds.detail : !limits.ok ? limits.detail : '';
  printVerdict({ passed: false, reasonCode: 'invalid_params', detail });
} else {
  const verdict = await staticScan(
    { path: request.path, kind: request.kind },
    thresholds.thresholds,
    {
      readerLimits: readerLimitsOf(limits.limits),
    },
  );
  printVerdict(workerOutput(verdict));
}
