import { createHash } from 'node:crypto';
import type { AttestationPolicy, Enrolment, Evidence } from '../src/index.js';

// Quotes built byte for byte as a TPM writes them (TPMS_ATTEST, big-endian), so the decider can
// be tested on good and doctored quotes without a TPM.

export const NONCE = '11'.repeat(32);
export const OTHER_NONCE = '22'.repeat(32);
export const ZERO = '00'.repeat(32);
export const PEM =
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtest\n-----END PUBLIC KEY-----\n';
export const AK_DIGEST = `sha256:${createHash('sha256').update(PEM).digest('hex')}`;
export const BUNDLE = `sha256:${'bb'.repeat(32)}`;

export const policy = (over: Partial<AttestationPolicy> = {}): AttestationPolicy => ({
  require: 'evaluation',
  pcrs: [0, 2, 4, 7],
  intervalSeconds: 300,
  requireSecureBoot: false,
  digest: `sha256:${'cc'.repeat(32)}`,
  ...over,
});

/** PCR values: 0,2,4 zero, 7 = `seven`. */
export function pcrValues(seven = 'a7'.repeat(32)): { index: number; value: string }[] {
  return [
    { index: 0, value: ZERO },
    { index: 2, value: ZERO },
    { index: 4, value: ZERO },
    { index: 7, value: seven },
  ];
}

export function digestOf(values: readonly string[]): string {
  const h = createHash('sha256');
  for (const v of values) h.update(Buffer.from(v, 'hex'));
  return h.digest('hex');
}

/** A TPMS_ATTEST quote message (hex). */
export function quoteMessage(options: {
  nonce?: string;
  pcrs?: number[];
  bank?: number;
  values?: string[];
  digest?: string;
}): string {
  const pcrs = options.pcrs ?? [0, 2, 4, 7];
  const values = options.values ?? pcrValues().map((p) => p.value);
  const digest = options.digest ?? digestOf(values);
  const nonce = Buffer.from(options.nonce ?? NONCE, 'hex');
  const select = Buffer.alloc(3);
  for (const p of pcrs) select[p >> 3]! |= 1 << (p & 7);
  const signer = Buffer.from(`000b${'ab'.repeat(32)}`, 'hex');
  const parts = [
    u32(0xff544347),
    u16(0x8018),
    u16(signer.length),
    signer,
    u16(nonce.length),
    nonce,
    u64(36283n),
    u32(1),
    u32(0),
    Buffer.from([1]),
    u64(0x2019102300163636n),
    u32(1),
    u16(options.bank ?? 0x000b),
    Buffer.from([3]),
    select,
    u16(32),
    Buffer.from(digest, 'hex'),
  ];
  return Buffer.concat(parts).toString('hex');
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}
function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

export const enrolment = (over: Partial<Enrolment> = {}): Enrolment => ({
  host: 'host-1',
  mode: 'evaluation',
  akDigest: AK_DIGEST,
  pcrSelection: 'sha256:0,2,4,7',
  pcrBaseline: pcrValues(),
  quotedPcrDigest: `sha256:${digestOf(pcrValues().map((p) => p.value))}`,
  deploymentDigest: null,
  ...over,
});

type TpmEvidence = Extract<Evidence, { kind: 'tpm' }>;

/** Evidence of a good run; override any part. */
export function goodEvidence(over: Partial<TpmEvidence> = {}): TpmEvidence {
  return {
    kind: 'tpm',
    secureBoot: null,
    reachable: true,
    enrolmentError: null,
    ak: { status: 'match' },
    quote: {
      status: 'taken',
      message: quoteMessage({}),
      check: { ok: true, failure: null, detail: 'verified' },
      pcrValues: pcrValues(),
    },
    ...over,
  };
}
