// The diffusion deep scan's rule (issue 4 §3.7, reference §2.8; pure, issue 11 §4): the issues
// `scan/diffusionScan.ts` observed in a diffusers directory in, one verdict out. Every issue fails
// the stage, and the first one (in the order the scan met them) names the rejection, except
// embedded pickle streams, which fail by policy's `pickleFailRank` as in the static scan: a stream
// ranked below it is left out (only `embedded` can be, with rank 3), and with rank 1 a file whose
// weights hold only inert streams fails too (`embedded_pickle`). Passing: `diffusion_ok`.
// Facts: class_name, components, files, safetensors, issues, first_issue.
import { pickleVerdictFails } from '../scan/pickles.js';
import { DEFAULT_STATIC_SCAN_THRESHOLDS } from '../scan/thresholds.js';
import type { DiffusionIssue, DiffusionScanReport } from '../scan/diffusionScan.js';
import { safeLabel, safeText, type StageVerdict } from './verdict.js';

/** The issues that fail the stage under `pickleFailRank`, in the order the scan met them. */
export function failingIssues(r: DiffusionScanReport, pickleFailRank: number): DiffusionIssue[] {
  const kept = r.issues.filter(
    (i) => i.pickleVerdict === undefined || pickleVerdictFails(i.pickleVerdict, pickleFailRank),
  );
  const inert = pickleVerdictFails('clean', pickleFailRank)
    ? r.inertPickles.map((p): DiffusionIssue => ({
        code: 'embedded_pickle',
        path: p.path,
        detail: `${p.streams} inert pickle stream(s), policy fails any`,
        pickleVerdict: 'clean',
      }))
    : [];
  return [...kept, ...inert];
}

/** The stage verdict of a deep-scan report. */
export function diffusionVerdict(
  r: DiffusionScanReport,
  pickleFailRank: number = DEFAULT_STATIC_SCAN_THRESHOLDS.pickleFailRank,
): StageVerdict {
  const issues = failingIssues(r, pickleFailRank);
  const first = issues[0];
  const facts = {
    class_name: r.className ?? '',
    components: r.components,
    files: r.files,
    safetensors: r.safetensors,
    issues: issues.length,
    first_issue: first !== undefined ? `${first.code}:${safeLabel(first.path, 120)}` : '',
  };
  if (first === undefined)
    return {
      passed: true,
      reasonCode: 'diffusion_ok',
      detail: `${r.components} components, ${r.files} files, ${r.safetensors} safetensors`,
      facts,
    };
  return {
    passed: false,
    reasonCode: first.code,
    detail: safeText(
      `diffusion deep scan found ${issues.length} issue(s): ${issues
        .slice(0, 3)
        .map((i) => `${i.code} ${i.path === '' ? '' : `${i.path}: `}${i.detail}`)
        .join('; ')}`,
      512,
    ),
    facts,
  };
}
