import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { DecisionRequestData, EventData } from '@secai/contracts';
import {
  PolicyClient,
  loadPolicyDir,
  recordedDecisions,
  replayDecisions,
  snapshotFromDocuments,
  whatIf,
  type PolicySnapshot,
  type RecordedDecision,
  type ReplayReport,
} from '@secai/policy-engine';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { commandFailure } from '../failures.js';
import { verifiedEvents } from '../verified.js';

interface Recorded {
  decisions: RecordedDecision[];
  policies: Map<string, PolicySnapshot>;
  refused: number;
}

/**
 * Verified `policy.loaded` events, and the decisions of the verified `policy.decided` and
 * `policy.decisions.recorded` events within [from, to].
 */
async function readRecorded(
  ctx: CliContext,
  range: { from?: number; to?: number },
): Promise<Recorded> {
  const tally = { refused: 0 };
  const decisions: RecordedDecision[] = [];
  const policies = new Map<string, PolicySnapshot>();
  for await (const { event } of verifiedEvents(
    ctx,
    { filterSubject: 'secai.evt.policy.active' },
    tally,
  )) {
    if (event.type !== 'policy.loaded') continue;
    const data = event.data as EventData<'policy.loaded'>;
    policies.set(data.digest, snapshotFromDocuments(data.documents, data.digest));
  }
  const decided = {
    filterSubject: 'secai.evt.decision.>',
    ...(range.from ? { fromSeq: range.from } : {}),
    ...(range.to ? { toSeq: range.to } : {}),
  };
  // A group (`policy.decisions.recorded`) gives each of its members, re-evaluated on its own.
  for await (const { seq, event } of verifiedEvents(ctx, decided, tally))
    decisions.push(...recordedDecisions(seq, event));
  return { decisions, policies, refused: tally.refused };
}

function print(
  report: ReplayReport,
  refused: number,
  json: boolean | undefined,
  out: (line: string) => void,
  label: string,
): void {
  if (json) {
    out(JSON.stringify({ ...report, refused }));
    return;
  }
  out(
    `${label}: ${report.checked} decisions checked, ${report.reproduced} unchanged, ${report.differences.length} different${refused ? `, ${refused} refused envelopes skipped` : ''}`,
  );
  for (const d of report.differences) {
    out(
      `seq ${d.seq} ${d.decisionId} ${d.domain} ${d.subject}: ${d.recorded.decision} (${d.recorded.ruleId}) → ${d.now.decision} (${d.now.ruleId}): ${d.detail}`,
    );
  }
}

/** `secai policy replay`: every recorded decision must be reproduced exactly. */
export async function policyReplay(
  ctx: CliContext,
  options: { from?: number; to?: number; json?: boolean },
  out: (line: string) => void,
): Promise<void> {
  const recorded = await readRecorded(ctx, options);
  const report = replayDecisions(recorded.decisions, recorded.policies);
  print(report, recorded.refused, options.json, out, 'replay');
  if (report.differences.length > 0) {
    throw new CliError(
      'REPLAY_MISMATCH',
      `${report.differences.length} recorded decision(s) were not reproduced; first at seq ${report.differences[0]!.seq}`,
    );
  }
}

/** `secai policy what-if --policy DIR`: which recorded decisions a candidate policy would change. */
export async function policyWhatIf(
  ctx: CliContext,
  options: { policy: string; from?: number; to?: number; json?: boolean },
  out: (line: string) => void,
): Promise<void> {
  const candidate = await loadPolicyDir(options.policy);
  if (!candidate.ok) {
    throw new CliError(
      'POLICY_INVALID',
      `candidate policy refused: ${candidate.problems.map((p) => `${basename(p.file)}: ${p.path || '(file)'}: ${p.message}`).join('; ')}`,
    );
  }
  const recorded = await readRecorded(ctx, options);
  print(
    whatIf(recorded.decisions, candidate.snapshot),
    recorded.refused,
    options.json,
    out,
    `what-if ${candidate.snapshot.digest}`,
  );
}

/**
 * `secai policy check FILE|DIR`: validates a policy directory, or the directory of a given
 * `policy.yaml`/`agent.yaml`/`mcp.yaml` (validated with the directory's other documents: policy
 * and agent must both be there, mcp is optional).
 */
export async function policyCheck(
  path: string,
  options: { json?: boolean },
  out: (line: string) => void,
): Promise<void> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    // Only ENOENT is "does not exist"; a denied or file-in-the-path lookup says what it is.
    throw new CliError(
      'USAGE',
      err.code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${err.message}`,
      { cause: err },
    );
  });
  if (!info.isDirectory() && !['policy.yaml', 'agent.yaml', 'mcp.yaml'].includes(basename(path))) {
    throw new CliError(
      'USAGE',
      `${path}: a policy file is named policy.yaml, agent.yaml or mcp.yaml`,
    );
  }
  const result = await loadPolicyDir(info.isDirectory() ? path : dirname(path));
  if (options.json)
    out(
      JSON.stringify(
        result.ok
          ? { ok: true, digest: result.snapshot.digest, version: result.snapshot.version }
          : result,
      ),
    );
  else if (result.ok)
    out(
      `OK: ${path} is a valid policy (digest ${result.snapshot.digest}, version ${result.snapshot.version})`,
    );
  else
    for (const p of result.problems)
      out(`${p.file}: ${p.path || '(file)'}: ${p.code}: ${p.message}`);
  if (!result.ok)
    throw new CliError('POLICY_INVALID', `${result.problems.length} problem(s) in ${path}`);
}

/**
 * What a failed ask is: the engine refused the request (REFUSED, its code first), or what
 * `commandFailure` makes of the command's failure: nothing answers (NOT_RUNNING), no answer in
 * time (TIMEOUT), or the failure itself, e.g. a reply whose signature does not verify, which must
 * never read as "not running" (pure).
 */
export function decideFailure(err: unknown): Error {
  const { code, message, cause } = err as { code?: unknown; message?: string; cause?: unknown };
  if (code === 'POLICY_REFUSED')
    return new CliError('REFUSED', `the policy engine refused the request: ${message}`, {
      cause: err,
    });
  if (code === 'POLICY_UNAVAILABLE' && cause !== undefined)
    return commandFailure(cause, 'policy engine');
  return err as Error;
}

/**
 * `secai policy decide`: asks the live engine (as the operator's `cli` identity); recorded like
 * any decision. `request` was built and checked against the contract by `decisionRequest`.
 */
export async function policyDecide(
  ctx: CliContext,
  request: DecisionRequestData,
  options: { json?: boolean },
  out: (line: string) => void,
): Promise<void> {
  const client = new PolicyClient(ctx.nc, ctx.signer, ctx.trust, 5000);
  const result = await client.decide(request).catch((cause: unknown) => {
    throw decideFailure(cause);
  });
  if (options.json) {
    out(JSON.stringify(result));
    return;
  }
  out(`${result.decision.toUpperCase()} (${result.evidence.ruleId}): ${result.reason}`);
  for (const step of result.evidence.trace)
    out(`  ${step.matched ? '→' : ' '} ${step.ruleId}: ${step.why}`);
  out(
    `policy ${result.evidence.policyDigest ?? '(none)'}, recorded as ${result.decisionId ?? result.eventId ?? '(not recorded)'}`,
  );
}
