// The provenance stage's vocabulary: what it is given, what it answers, and the OpenSSF
// model-signing (OMS, model_signing v1.0) constants it checks against.

/** A public key the operator trusts to sign models (Ed25519, ECDSA P-256 or P-384; SPKI PEM). */
export interface PinnedKey {
  id: string;
  publicKeyPem: string;
}

/**
 * A trusted CA, as PEM: one certificate, or a chain from an issuing CA up to its self-signed
 * root (the chain must end at a self-signed certificate for a path to be built).
 */
export type PinnedCertificate = string;

export type ProvenanceLevel = 'none' | 'recorded' | 'signature-verified';

export interface ProvenanceRequest {
  artifactPath: string;
  kind: 'file' | 'directory';
  /** A file's bundle; for a directory `null` means `<directory>/model.sig`. */
  bundlePath: string | null;
  keys: readonly PinnedKey[];
  certificates?: readonly PinnedCertificate[];
  requireSignature: boolean;
}

export const PROVENANCE_REASONS = [
  'unsigned',
  'signature_ok',
  'signature_unverified',
  'signature_absent',
  'config_invalid',
  'bundle_unreadable',
  'bundle_too_large',
  'bundle_invalid',
  'key_untrusted',
  'key_unsupported',
  'signature_invalid',
  'statement_invalid',
  'predicate_unsupported',
  'artifact_invalid',
  'file_missing',
  'file_unlisted',
  'ignore_path_invalid',
  'ignore_path_hides_file',
  'digest_mismatch',
  'internal_error',
] as const;
export type ProvenanceReason = (typeof PROVENANCE_REASONS)[number];

export interface ProvenanceVerdict {
  passed: boolean;
  reasonCode: ProvenanceReason;
  detail: string;
  level: ProvenanceLevel;
  /** The pinned key's id, or the certificate's SAN (else its subject); null when unverified. */
  signer: string | null;
  /** Files whose digest was checked against the signed manifest. */
  files: number;
}

/** What a failed step answers; the orchestrator turns it into a verdict. */
export interface Failure {
  ok: false;
  reason: ProvenanceReason;
  detail: string;
}

export const OMS = {
  bundleName: 'model.sig',
  payloadType: 'application/vnd.in-toto+json',
  statementType: 'https://in-toto.io/Statement/v1',
  predicateType: 'https://model_signing/signature/v1.0',
  /** OMS names the one resource of a single-file model by its path relative to itself. */
  singleFileName: '.',
} as const;

export const LIMITS = {
  /** A bundle is a few KiB per thousand files; anything near this is not a signature. */
  bundleBytes: 1024 * 1024,
  /** Same bounds as intake (quarantine.md §1.4). */
  files: 25_000,
  entries: 25_000,
  depth: 32,
  pathBytes: 4096,
  segmentBytes: 255,
  keys: 64,
  certificates: 16,
  pemChars: 64 * 1024,
  /** OMS writes four git paths and the signature; a long list is not an ignore list. */
  ignorePaths: 256,
  readChunk: 1024 * 1024,
} as const;

export function fail(reason: ProvenanceReason, detail: string): Failure {
  return { ok: false, reason, detail: detail.slice(0, 512) };
}
