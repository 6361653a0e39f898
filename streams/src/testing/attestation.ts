import { randomBytes } from 'node:crypto';
import type { TestAppliance } from './index.js';

/**
 * Records a fresh `attestation.verified` (software mode, policy satisfied) as the runtime
 * attestor's identity: what an incident's recovery ceremony waits for before it may be resolved.
 * Returns the event's id.
 */
export async function recordFreshAttestation(app: TestAppliance): Promise<string> {
  const attestor = await app.client('runtime-attestor');
  const { ids } = await attestor.store.append(
    [
      {
        type: 'attestation.verified',
        aggregateId: 'appliance',
        data: {
          host: 'appliance',
          mode: 'software',
          nonce: randomBytes(32).toString('hex'),
          requestedBy: null,
          quoteDigest: null,
          pcrDigest: null,
          deploymentDigest: null,
          bundleDigest: `sha256:${'2'.repeat(64)}`,
          checks: {
            secureBoot: false,
            tpmAvailable: false,
            quoteVerified: false,
            measurementsVerified: true,
            deploymentVerified: true,
            releaseBaselineVerified: true,
          },
          evidenceVerified: false,
          policySatisfied: true,
        },
      },
    ],
    { expectedSequence: 'any' },
  );
  return ids[0]!;
}
