import {
  critical,
  info,
  judgement,
  skipped,
  warning,
  type Finding,
  type ProbeJudgement,
  type ProbeStatusName,
} from './types.js';

// ecc_status (reference §4.2): the GPU's memory error counters from nvidia-smi.

/** The query the probe runs (one CSV line per GPU: corrected, uncorrected, mode). */
export const ECC_QUERY_ARGS = [
  '--query-gpu=ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,ecc.mode.current',
  '--format=csv,noheader,nounits',
] as const;

/** What asking nvidia-smi gave. */
export type NvidiaSmiOutput =
  | { kind: 'absent'; path: string | null }
  | { kind: 'failed'; message: string }
  | { kind: 'output'; text: string };

/** Corrected errors past this many are a drift (the reference's number). */
export const CORRECTED_ERRORS_DRIFT = 100;

const RANK: Record<ProbeStatusName, number> = { skip: 0, pass: 1, error: 2, drift: 3, fail: 4 };
const NOT_AVAILABLE = /not supported|\bn\/a\b/i;
const COUNT = /^\d+$/;

interface LineResult {
  status: ProbeStatusName;
  score: number;
  findings: Finding[];
}

function judgeLine(line: string, gpu: number): LineResult {
  const fields = line.split(',').map((f) => f.trim());
  const detail = `GPU ${gpu}: ${line.trim()}`;
  const [corrected, uncorrected, mode] = fields;
  // ECC switched off on a GPU that has it: the counters then read [N/A], which the reference
  // took for "not supported" and skipped.
  if (fields.length === 3 && /^disabled$/i.test(mode!))
    return { status: 'drift', score: 0.3, findings: [warning('ECC is disabled', detail)] };
  if (fields.length !== 3 || !COUNT.test(corrected!) || !COUNT.test(uncorrected!)) {
    if (NOT_AVAILABLE.test(line))
      return { status: 'skip', score: 0, findings: [info('ECC not supported', detail)] };
    return {
      status: 'error',
      score: 0.3,
      findings: [warning('nvidia-smi output not understood', detail)],
    };
  }
  if (NOT_AVAILABLE.test(mode!))
    return { status: 'drift', score: 0.3, findings: [warning('ECC mode unknown', detail)] };
  const c = Number(corrected);
  const u = Number(uncorrected);
  if (u > 0)
    return {
      status: 'fail',
      score: 1,
      findings: [critical('uncorrected ECC memory errors', detail)],
    };
  if (c > CORRECTED_ERRORS_DRIFT)
    return {
      status: 'drift',
      score: 0.4,
      findings: [warning(`more than ${CORRECTED_ERRORS_DRIFT} corrected ECC errors`, detail)],
    };
  return {
    status: 'pass',
    score: 0,
    findings: c > 0 ? [info('corrected ECC errors', detail)] : [info('no ECC errors', detail)],
  };
}

/**
 * Per GPU line: ECC disabled ⇒ drift 0.3; counters not available (no ECC on that GPU) ⇒ skip;
 * a line not understood ⇒ error 0.3; mode unknown ⇒ drift 0.3; uncorrected > 0 ⇒ fail 1.0;
 * corrected > 100 ⇒ drift 0.4; else pass. The probe takes the worst line (fail > drift > error >
 * pass > skip) and its highest score. No nvidia-smi, no GPU listed ⇒ skip; nvidia-smi failing ⇒
 * error 0.3.
 */
export function judgeEcc(out: NvidiaSmiOutput): ProbeJudgement {
  if (out.kind === 'absent')
    return skipped(
      'ecc_status',
      'nvidia-smi not found',
      out.path === null ? 'no NVIDIA tools on this host' : `nothing executable at ${out.path}`,
    );
  if (out.kind === 'failed')
    return judgement('ecc_status', 'error', 0.3, [warning('nvidia-smi failed', out.message)]);
  const lines = out.text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0 || /no devices were found/i.test(out.text))
    return skipped('ecc_status', 'no NVIDIA GPU listed by nvidia-smi');
  const results = lines.map((l, i) => judgeLine(l, i));
  const worst = results.reduce((a, b) => (RANK[b.status] > RANK[a.status] ? b : a));
  const score = Math.max(...results.map((r) => r.score));
  return judgement(
    'ecc_status',
    worst.status,
    worst.status === 'skip' ? 0 : score,
    results.flatMap((r) => r.findings),
  );
}
