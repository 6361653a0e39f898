import {
  DecisionRequest,
  MAX_DECISION_REQUEST_BYTES,
  type DecisionRequestData,
} from '@secai/contracts';
import { checkBounds } from './bounds.js';
import { CliError } from './errors.js';

// `secai policy decide` builds its request here and holds it to the contract before anything is
// sent: a request the engine would refuse is the operator's mistake (USAGE, exit 2), named by
// the option they typed and the bound it broke, and never a "not running" the engine's refusal
// used to be reported as. Checked before connecting, so it holds with no appliance running.

export interface DecideOptions {
  domain: string;
  subject: string;
  action?: string;
  path?: string;
  method?: string;
  ceiling?: string;
}

/** The command-line option each request field comes from. */
const OPTION_OF: Record<string, string> = {
  '/domain': '--domain',
  '/subject': '--subject',
  '/action': '--action',
  '/params/path': '--path',
  '/params/method': '--method',
  '/params/ceiling': '--ceiling',
};

/** The request `options` ask, or USAGE naming each option over the contract's bounds (pure). */
export function decisionRequest(options: DecideOptions): DecisionRequestData {
  const params = {
    ...(options.path !== undefined ? { path: options.path } : {}),
    ...(options.method !== undefined ? { method: options.method } : {}),
    ...(options.ceiling !== undefined ? { ceiling: options.ceiling } : {}),
  };
  const request: DecisionRequestData = {
    domain: options.domain,
    subject: options.subject,
    ...(options.action !== undefined ? { action: options.action } : {}),
    ...(Object.keys(params).length > 0 ? { params } : {}),
  };
  checkBounds('the decision request', DecisionRequest, request, OPTION_OF);
  const bytes = Buffer.byteLength(JSON.stringify(request));
  if (bytes > MAX_DECISION_REQUEST_BYTES)
    throw new CliError(
      'USAGE',
      `the decision request is ${bytes} bytes; the bound is ${MAX_DECISION_REQUEST_BYTES}`,
    );
  return request;
}
