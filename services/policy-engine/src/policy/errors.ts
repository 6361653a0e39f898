import { BaseError } from '@secai/contracts';

export type PolicyErrorCode = 'POLICY_UNREADABLE' | 'POLICY_INVALID' | 'POLICY_TOO_LARGE';

/** One thing wrong with a policy document, located as precisely as the input allows. */
export interface PolicyProblem {
  /** The file as given (an absolute path when read from a directory; `policy.yaml` etc. otherwise). */
  file: string;
  /** Where in the document: `tools.allow[2].name`, `budgets["bad key"]`; '' for a whole-file problem. */
  keyPath: string;
  message: string;
}

/** A policy that cannot be used, with every problem found (not just the first). */
export class PolicyError extends BaseError<PolicyErrorCode> {
  readonly problems: PolicyProblem[];

  constructor(
    code: PolicyErrorCode,
    message: string,
    problems: PolicyProblem[],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.problems = problems;
  }
}

/** `file: keyPath: message` (or `file: message` for a whole-file problem), for logs and the CLI. */
export function formatPolicyProblem(p: PolicyProblem): string {
  return p.keyPath === '' ? `${p.file}: ${p.message}` : `${p.file}: ${p.keyPath}: ${p.message}`;
}
