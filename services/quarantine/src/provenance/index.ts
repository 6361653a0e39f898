// Stage 4, provenance: OpenSSF model-signing (OMS v1.0) signatures verified offline against
// pinned keys or pinned CAs, then the signed manifest compared file by file with the artifact.
import { join, resolve } from 'node:path';
import { listArtifactFiles, sha256File, type ArtifactFiles } from './artifact.js';
import { readBundle } from './bundle.js';
import { verifyBundleSignature } from './signature.js';
import { some, matchManifest } from './manifestMatch.js';
import { checkStatement, type SignedManifest } from './statement.js';
import { loadTrust } from './trust.js';
import {
  OMS,
  type Failure,
  type ProvenanceLevel,
  type ProvenanceReason,
  type ProvenanceRequest,
  type ProvenanceVerdict,
} from './types.js';

export {
  OMS,
  PROVENANCE_REASONS,
  type PinnedCertificate,
  type PinnedKey,
  type ProvenanceLevel,
  type ProvenanceReason,
  type ProvenanceRequest,
  type ProvenanceVerdict,
} from './types.js';

function verdict(
  passed: boolean,
  reasonCode: ProvenanceReason,
  detail: string,
  extra: { level?: ProvenanceLevel; signer?: string | null; files?: number } = {},
): ProvenanceVerdict {
  const { level = 'none', signer = null, files = 0 } = extra;
  return { passed, reasonCode, detail: detail.slice(0, 512), level, signer, files };
}

function rejected(failure: Failure, signer: string | null = null): ProvenanceVerdict {
  return verdict(false, failure.reason, failure.detail, { signer });
}

function unsigned(requireSignature: boolean, detail: string): ProvenanceVerdict {
  return requireSignature
    ? verdict(false, 'signature_absent', `${detail}, and a signature is required`)
    : verdict(true, 'unsigned', detail);
}

/** The signed manifest against the artifact: names first, then each signed file's digest. */
async function compare(
  manifest: SignedManifest,
  files: ArtifactFiles,
  signer: string,
): Promise<ProvenanceVerdict> {
  const match = matchManifest(manifest.resources, files.keys(), manifest.ignorePaths);
  if (!match.ok) return rejected(match, signer);
  for (const name of match.signed) {
    const digest = await sha256File(files.get(name) ?? '');
    if (digest === null)
      return verdict(false, 'artifact_invalid', `cannot read ${some([name])}`, { signer });
    if (digest !== manifest.resources.get(name))
      return verdict(false, 'digest_mismatch', `${some([name])} differs from the signed digest`, {
        signer,
      });
  }
  const leftOut =
    match.leftOut.length > 0 ? ` (${match.leftOut.length} left out by ignore_paths)` : '';
  return verdict(
    true,
    'signature_ok',
    `${match.signed.length} file(s) match the manifest signed by ${signer}${leftOut}`,
    { level: 'signature-verified', signer, files: match.signed.length },
  );
}

async function verify(request: ProvenanceRequest, now: Date): Promise<ProvenanceVerdict> {
  const { artifactPath, kind, requireSignature } = request;
  const trust = loadTrust(request.keys, request.certificates ?? []);
  if (!trust.ok) return rejected(trust);
  const bundlePath =
    request.bundlePath ?? (kind === 'directory' ? join(artifactPath, OMS.bundleName) : null);
  if (bundlePath === null) return unsigned(requireSignature, 'no signature bundle for this file');
  const read = await readBundle(bundlePath);
  if (!read.ok) {
    return read.absent === true
      ? unsigned(requireSignature, 'no signature bundle found')
      : rejected(read);
  }
  const signature = verifyBundleSignature(read.bundle, trust.trust, now);
  if (!signature.ok) {
    // A signer nobody pinned (or whose key type the stage does not verify) proves nothing, but
    // when signatures are optional it is no worse than no signature: recorded, not trusted, and
    // its statement is never interpreted.
    const unverifiable =
      signature.reason === 'key_untrusted' || signature.reason === 'key_unsupported';
    if (unverifiable && !requireSignature)
      return verdict(true, 'signature_unverified', signature.detail, { level: 'recorded' });
    return rejected(signature);
  }
  const { signer } = signature;
  const envelope = read.bundle.content.dsseEnvelope;
  const statement = checkStatement(envelope.payloadType, envelope.payload, kind);
  if (!statement.ok) return rejected(statement, signer);
  // The bundle is left out only where OMS puts it (`model.sig` at the top of the directory).
  const skip =
    kind === 'directory' && resolve(bundlePath) === resolve(artifactPath, OMS.bundleName)
      ? OMS.bundleName
      : null;
  const listed = await listArtifactFiles(artifactPath, kind, skip);
  if (!listed.ok) return rejected(listed, signer);
  return compare(statement, listed.files, signer);
}

/**
 * Verifies an artifact's OMS signature offline. Never throws: hostile bundles, statements and
 * artifacts all end as a verdict with a stable `reasonCode`.
 */
export async function verifyModelSignature(
  request: ProvenanceRequest,
  now: Date = new Date(),
): Promise<ProvenanceVerdict> {
  try {
    return await verify(request, now);
  } catch (error) {
    return verdict(false, 'internal_error', `verification failed: ${String(error)}`);
  }
}
