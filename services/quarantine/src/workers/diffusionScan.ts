// Stage worker: the diffusion deep scan (stage 7, directories only), run by
// `runStage('diffusion_scan', …)` inside the sandbox. Reads `{ path, kind, params }` on stdin and
// prints one verdict; the logic lives in scan/diffusionScan.ts. Params: none are needed
// (`pickleOpcodesPerMiB` may bound the pickle scan like the static scan's threshold).
import { diffusionDeepScan, diffusionVerdict } from '../scan/diffusionScan.js';
import { printVerdict, readRequest } from './io.js';

const request = await readRequest<{ pickleOpcodesPerMiB?: unknown } | undefined>();
const budget = request.params?.pickleOpcodesPerMiB;
if (request.kind !== 'directory') {
  printVerdict({
    passed: false,
    reasonCode: 'not_a_directory',
    detail: 'the diffusion deep scan applies to diffusers directories only',
  });
} else if (budget !== undefined && (!Number.isSafeInteger(budget) || (budget as number) < 1)) {
  printVerdict({
    passed: false,
    reasonCode: 'invalid_params',
    detail: 'pickleOpcodesPerMiB must be a positive integer',
  });
} else {
  const report = await diffusionDeepScan(
    request.path,
    typeof budget === 'number' ? { pickleOpcodesPerMiB: budget } : {},
  );
  const v = diffusionVerdict(report);
  printVerdict({ passed: v.passed, reasonCode: v.reasonCode, detail: v.detail, ...v.facts });
}
