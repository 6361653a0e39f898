import { attestationRoundTrip, type RoundTripResult } from '@secai/runtime-attestor';
import type { Row } from './report.js';

/** (i) Attestation round trip with swtpm: fresh nonce, quote, checkquote, decision. */
export async function attestationBench(runs: number): Promise<RoundTripResult> {
  return attestationRoundTrip(runs);
}

export function attestationRows(r: RoundTripResult): Row[] {
  return [
    {
      measure: 'i. attestation round trip (swtpm)',
      n: r.runs,
      runs: 1,
      value: `p50 ${r.p50Ms.toFixed(0)} ms`,
      spread: `p99 ${r.p99Ms.toFixed(0)} ms, min ${r.minMs.toFixed(0)} max ${r.maxMs.toFixed(0)}`,
      note: `tpm2_quote + tpm2_checkquote + decision, ${r.allVerified ? 'all verified' : 'NOT all verified'}; enrolment ${r.enrolmentMs.toFixed(0)} ms once`,
    },
  ];
}
