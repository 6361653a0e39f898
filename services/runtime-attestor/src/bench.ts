import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { checkQuote, decide, enrolmentFrom, evolve, initialState } from './decider.js';
import type { AttestationPolicy } from './policy.js';
import { toHex } from './quote.js';
import { startSwtpm } from './swtpm.js';
import { DEFAULT_AK_HANDLE, Tpm2Tools } from './tpm.js';

export interface RoundTripResult {
  runs: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  /** Creating the EK and AK, persisting the AK and quoting the baseline, once. */
  enrolmentMs: number;
  /** Every run was `attestation.verified` (a benchmark of failures would measure nothing). */
  allVerified: boolean;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * One attestation round trip, `runs` times, against a private swtpm: a fresh nonce,
 * `tpm2_quote` over sha256:0,2,4,7, `tpm2_checkquote` with the enrolled key, and the pure
 * decision (nonce, selection, digest, baseline comparison). No bus: this is the TPM part of the
 * reference's "attestation verify" SLO (p50/p95/p99 < 50/150/500 ms). Throws with the Debian
 * packages to install when swtpm or tpm2-tools are missing.
 */
export async function attestationRoundTrip(runs: number): Promise<RoundTripResult> {
  if (!Number.isSafeInteger(runs) || runs < 1)
    throw new RangeError('runs must be a positive integer');
  const swtpm = await startSwtpm();
  try {
    const tpm = new Tpm2Tools({ tcti: swtpm.tcti });
    const policy: AttestationPolicy = {
      require: 'evaluation',
      pcrs: [0, 2, 4, 7],
      intervalSeconds: 300,
      requireSecureBoot: false,
      digest: `sha256:${'00'.repeat(32)}`,
    };
    const enrolStart = performance.now();
    const pem = await tpm.createAttestationKey(DEFAULT_AK_HANDLE);
    const nonce0 = randomBytes(32).toString('hex');
    const q0 = await tpm.quote(DEFAULT_AK_HANDLE, policy.pcrs, nonce0);
    const c0 = await tpm.checkQuote(pem, q0, nonce0);
    const check = checkQuote(
      { status: 'taken', message: toHex(q0.message), check: c0, pcrValues: c0.pcrValues },
      nonce0,
      policy.pcrs,
    );
    const enrolment = enrolmentFrom({
      host: 'bench',
      mode: 'evaluation',
      akPublicPem: pem,
      pcrs: policy.pcrs,
      check,
    });
    const enrolmentMs = performance.now() - enrolStart;
    const state = evolve(initialState(), { type: 'attestation.enrolled', data: enrolment });

    const times: number[] = [];
    let allVerified = true;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const nonce = randomBytes(32).toString('hex');
      const quote = await tpm.quote(DEFAULT_AK_HANDLE, policy.pcrs, nonce);
      const result = await tpm.checkQuote(pem, quote, nonce);
      const {
        events: [event],
      } = decide(
        {
          type: 'attest',
          host: 'bench',
          mode: 'evaluation',
          nonce,
          requestedBy: null,
          policy,
          bundleDigest: `sha256:${'00'.repeat(32)}`,
          evidence: {
            kind: 'tpm',
            secureBoot: null,
            reachable: true,
            enrolmentError: null,
            ak: { status: 'match' },
            quote: {
              status: 'taken',
              message: toHex(quote.message),
              check: result,
              pcrValues: result.pcrValues,
            },
          },
        },
        state,
      );
      times.push(performance.now() - t0);
      if (event?.type !== 'attestation.verified') allVerified = false;
    }
    const sorted = [...times].sort((a, b) => a - b);
    return {
      runs,
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      meanMs: round(times.reduce((a, b) => a + b, 0) / times.length),
      minMs: round(sorted[0]!),
      maxMs: round(sorted[sorted.length - 1]!),
      enrolmentMs: round(enrolmentMs),
      allVerified,
    };
  } finally {
    await swtpm.stop();
  }
}
