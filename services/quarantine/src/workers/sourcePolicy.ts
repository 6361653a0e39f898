// Stage worker: source policy (stage 1). It reads no artifact bytes, only the acquisition's URL
// and the policy's allowlist, but runs sandboxed like every stage so that no stage holds the
// service's credentials.
import { checkSourcePolicy } from '../stages/sourcePolicy.js';
import { printVerdict, readRequest } from './io.js';

const { params } = await readRequest<{ url: string | null; allowlist: string[] }>();
const check = checkSourcePolicy(params.url, params.allowlist);
printVerdict({
  passed: check.passed,
  reasonCode: check.reasonCode,
  detail: check.detail,
  source: check.source ?? 'local',
});
