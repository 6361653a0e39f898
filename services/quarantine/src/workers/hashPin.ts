// Stage worker: hash pinning (stage 3) against the models lock. The digest is the one intake
// computed while copying (the artifact is read-only since), so no byte is read again here.
import { formatProblem } from '@secai/contracts/documents';
import { checkHashPin, parseModelsLock } from '../stages/hashPin.js';
import { printVerdict, readRequest } from './io.js';

interface Params {
  /** The lock file's text; null when the policy has none (an empty lock). */
  lockText: string | null;
  filename: string;
  sha256: string;
  sourceUrl: string | null;
}

const { params } = await readRequest<Params>();
const lock =
  params.lockText === null
    ? { ok: true as const, lock: { version: 1 as const, models: [] } }
    : parseModelsLock(params.lockText);
if (!lock.ok) {
  // A broken lock is not an empty one: it would drop the block list (reference defect).
  printVerdict({
    passed: false,
    reasonCode: 'lock_invalid',
    detail: `models.lock.yaml is invalid: ${lock.problems.slice(0, 3).map(formatProblem).join('; ')}`,
    pin: 'not_checked',
  });
} else {
  const check = checkHashPin(lock.lock, {
    filename: params.filename,
    sha256: params.sha256,
    sourceUrl: params.sourceUrl,
  });
  printVerdict({
    passed: check.passed,
    reasonCode: check.reasonCode,
    detail: check.detail,
    pin: check.status,
  });
}
