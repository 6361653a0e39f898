import { constants as fsConstants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import {
  EventId,
  IsoTime,
  catalogue,
  closed,
  schemaProblems,
  sha256Hex,
  writeFileAtomic,
} from '@secai/contracts';

// The enrolment profile: what this host enrolled, kept in the state dir (0700 dir, 0600 file,
// written atomically). It is where the attestation key's public PEM is trusted from: every
// attestation checks quotes against this copy, never against whatever the TPM says now.

export const PROFILE_DIR = 'runtime-attestor';
export const PROFILE_FILE = 'enrolment.json';
const MAX_PROFILE_BYTES = 128 * 1024;

export const EnrolmentProfile = Type.Object(
  {
    version: Type.Literal(1),
    /** Where the key was created (`device:/dev/tpmrm0`, `swtpm:…`); null in software mode. */
    tcti: Type.Union([Type.String({ minLength: 1, maxLength: 512 }), Type.Null()]),
    /** Persistent handle of the attestation key; null in software mode. */
    akHandle: Type.Union([Type.String({ pattern: '^0x81[0-9a-f]{6}$' }), Type.Null()]),
    akPublicPem: Type.Union([
      Type.String({ minLength: 1, maxLength: 64 * 1024, pattern: '^-----BEGIN PUBLIC KEY-----' }),
      Type.Null(),
    ]),
    /** Exactly what `attestation.enrolled` carries. */
    enrolment: catalogue['attestation.enrolled'].schema,
    enrolledAt: IsoTime,
    /** The `attestation.enrolled` event that recorded it; null until it is stored. */
    eventId: Type.Union([EventId, Type.Null()]),
  },
  closed,
);
export type EnrolmentProfile = Static<typeof EnrolmentProfile>;

export class ProfileError extends Error {
  readonly code = 'PROFILE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

export function profilePath(stateDir: string): string {
  return join(stateDir, PROFILE_DIR, PROFILE_FILE);
}

/** The profile, or null when there is none. An unreadable or inconsistent one is a `ProfileError`. */
export async function loadProfile(stateDir: string): Promise<EnrolmentProfile | null> {
  const path = profilePath(stateDir);
  let text: string;
  try {
    const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    try {
      const stat = await handle.stat();
      if (!stat.isFile() || stat.size > MAX_PROFILE_BYTES)
        throw new ProfileError(
          `${path} is not a regular file of at most ${MAX_PROFILE_BYTES} bytes`,
        );
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (err instanceof ProfileError) throw err;
    throw new ProfileError(`${path} cannot be read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProfileError(`${path} is not JSON`);
  }
  const problems = schemaProblems(EnrolmentProfile, value);
  if (problems.length > 0) throw new ProfileError(`${path} is invalid: ${problems.join('; ')}`);
  const profile = value as EnrolmentProfile;
  const software = profile.enrolment.mode === 'software';
  if (software !== (profile.akPublicPem === null) || software !== (profile.akHandle === null))
    throw new ProfileError(`${path}: a key and handle exist exactly outside software mode`);
  if (
    profile.akPublicPem !== null &&
    profile.enrolment.akDigest !== `sha256:${sha256Hex(profile.akPublicPem)}`
  )
    throw new ProfileError(`${path}: the stored public key does not match the enrolled digest`);
  return profile;
}

export async function saveProfile(stateDir: string, profile: EnrolmentProfile): Promise<void> {
  const problems = schemaProblems(EnrolmentProfile, profile);
  if (problems.length > 0)
    throw new ProfileError(`refusing to save an invalid profile: ${problems.join('; ')}`);
  await mkdir(join(stateDir, PROFILE_DIR), { recursive: true, mode: 0o700 });
  await writeFileAtomic(profilePath(stateDir), `${JSON.stringify(profile, null, 2)}\n`, 0o600);
}
