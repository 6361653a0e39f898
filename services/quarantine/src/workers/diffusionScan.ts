// Stage worker: the diffusion deep scan (stage 7, directories only), run by
// `runStage('diffusion_scan', …)` inside the sandbox. Reads `{ path, kind, params }` on stdin and
// prints one verdict. A thin shell: scan/diffusionScan.ts observes, stages/diffusionScan.ts
// decides. Params (all optional): `thresholds` (the static scan's: its pickle budget, stream
// limit and fail rank apply here too), `formatLimits` (the readers' bounds), and the older
// `pickleOpcodesPerMiB`, which overrides the threshold of that name.
import { diffusionDeepScan } from '../scan/diffusionScan.js';
import { parseStaticScanThresholds } from '../scan/thresholds.js';
import { diffusionVerdict } from '../stages/diffusionScan.js';
import { parseFormatLimits, readerLimitsOf } from '../stages/formatLimits.js';
import { workerOutput } from '../stages/verdict.js';
import { printVerdict, readRequest } from './io.js';

interface Params {
  thresholds?: unknown;
  formatLimits?: unknown;
  pickleOpcodesPerMiB?: unknown;
}

const request = await readRequest<Params | undefined>();
const { thresholds: rawThresholds, formatLimits, pickleOpcodesPerMiB } = request.params ?? {};
const thresholds = parseStaticScanThresholds(
  pickleOpcodesPerMiB === undefined
    ? rawThresholds
    : { ...(rawThresholds as object | undefined), pickleOpcodesPerMiB },
);
const limits = parseFormatLimits(formatLimits);

if (request.kind !== 'directory') {
  printVerdict({
    passed: false,
    reasonCode: 'not_a_directory',
    detail: 'the diffusion deep scan applies to diffusers directories only',
  });
} else if (!thresholds.ok || !limits.ok) {
  const detail = !thresholds.ok ? thresholds.detail : !limits.ok ? limits.detail : '';
  printVerdict({ passed: false, reasonCode: 'invalid_params', detail });
} else {
  const t = thresholds.thresholds;
  const report = await diffusionDeepScan(request.path, {
    pickleOpcodesPerMiB: t.pickleOpcodesPerMiB,
    pickleMaxStreams: t.pickleMaxStreams,
    readerLimits: readerLimitsOf(limits.limits),
  });
  printVerdict(workerOutput(diffusionVerdict(report, t.pickleFailRank)));
}
