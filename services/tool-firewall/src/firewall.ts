import { performance } from 'node:perf_hooks';
import {
  newEventId,
  type DecisionRequestData,
  type DecisionResponseData,
  type RedactionCountsData,
  type ToolDecisionData,
} from '@secai/contracts';
import type { Logger } from '@secai/streams';
import type {
  AdapterLimits,
  AdapterOutput,
  AdapterRegistry,
  ToolAdapter,
} from './adapters/index.js';
import { decisionRefOf, type DecisionAsker } from './engine.js';
import { refusal, ToolFirewallError } from './errors.js';
import { OTHER_TOOLS, type RateLimiter } from './rateLimit.js';
import type { CallRecorder, CallState } from './record.js';
import { redactValue, truncateUtf8 } from './redact.js';
import type { ToolPolicyView } from './settings.js';
import { summarizeArguments, textDigest } from './summary.js';
import {
  checkAdapterArguments,
  checkArgumentTree,
  checkToolName,
  parseArgumentText,
  type Arguments,
} from './validation/arguments.js';
import {
  resolvePath,
  type ResolvedPath,
  type ResolverHooks,
  type Workspace,
} from './workspace/resolve.js';

// One tool call, gate by gate (issue 13 §2): the shape and the arguments, the caller's rate
// limit for the tool, the policy engine (the tool for each path, and every path), the paths
// opened and checked, then the adapter; its output redacted and cut before it leaves. Every
// call ends in an event: `tool.call.denied` at the gate that refused it, or `tool.call.allowed`
// (recorded before anything runs) and then `tool.call.completed` or `tool.call.failed`.

export interface CallRequest {
  /** The authenticated caller as the gateway names it (`agent`, `key:laptop`). */
  caller: string;
  tool: string;
  /** The arguments as a value (native shape) ... */
  arguments?: unknown;
  /** ... or as the JSON text an OpenAI tool call carries. */
  argumentText?: string;
  callId?: string;
}

export interface CallSuccess {
  ok: true;
  callId: string;
  tool: string;
  output: string;
  truncated: boolean;
  redactions: RedactionCountsData;
  decisionIds: string[];
  /** The `tool.call.completed` event. */
  eventId: string;
}

export interface CallRefusal {
  ok: false;
  error: ToolFirewallError;
  callId: string;
  tool: string | null;
  /** The decision that refused (rule, decision, evidence digest), when the engine decided. */
  deciding: ToolDecisionData | null;
  decisions: ToolDecisionData[];
  /** The `tool.call.denied` or `tool.call.failed` event (null if it could not be recorded). */
  eventId: string | null;
}

export type CallOutcome = CallSuccess | CallRefusal;

export interface FirewallDeps {
  adapters: AdapterRegistry;
  workspace: Workspace;
  limits: AdapterLimits;
  engine: DecisionAsker;
  /** The active policy's tool settings (throws `POLICY_UNAVAILABLE` when there is none). */
  policy: () => Promise<ToolPolicyView>;
  limiter: RateLimiter;
  recorder: CallRecorder;
  /** Milliseconds, for the rate limiter. */
  now?: () => number;
  hooks?: ResolverHooks;
  log?: Logger;
}

/** The caller as events name it: `service:<name>` or `key:<name>`. */
export function callerIdOf(caller: string): string {
  return caller.startsWith('key:') ? caller : `service:${caller}`;
}

export function newCallId(): string {
  return `call_${newEventId().replace(/-/g, '')}`;
}

/** One question to the engine, and what the call records about it. */
interface Ask {
  domain: ToolDecisionData['domain'];
  path: string | null;
  request: DecisionRequestData;
}

/** A call past validation: its adapter (if any), arguments, and logical paths by argument. */
interface Prepared {
  tool: string;
  adapter: ToolAdapter | undefined;
  args: Arguments;
  paths: Map<string, string>;
}

export class Firewall {
  readonly #now: () => number;

  constructor(private readonly deps: FirewallDeps) {
    this.#now = deps.now ?? Date.now;
  }

  async call(request: CallRequest): Promise<CallOutcome> {
    const started = performance.now();
    const state: CallState = {
      callId: request.callId ?? newCallId(),
      caller: callerIdOf(request.caller),
      tool: null,
      arguments: summarizeArguments(
        null,
        new Set(),
        request.argumentText ?? rawText(request.arguments),
      ),
      decisions: [],
    };
    let resolved: ResolvedPath[] = [];
    let prepared: Prepared;
    let allowedSeq: number;
    try {
      prepared = this.#validate(request, state);
      const policy = await this.deps.policy();
      this.#admit(state, prepared, policy);
      await this.#decide(state, prepared);
      resolved = await this.#resolve(state, prepared);
      allowedSeq = await this.deps.recorder.allowed(state);
    } catch (err) {
      await closeAll(resolved);
      return this.#refuse(state, err);
    }
    const adapter = prepared.adapter!;
    let output: AdapterOutput;
    try {
      const paths = new Map(adapter.paths.map((p, i) => [p.name, resolved[i]!]));
      output = await adapter.run(prepared.args, { paths, limits: this.deps.limits });
    } catch (err) {
      return this.#fail(state, allowedSeq, err, started);
    } finally {
      await closeAll(resolved);
    }
    return this.#complete(state, allowedSeq, output, started);
  }

  /** The shape, the adapter's declaration, and the text of every path. */
  #validate(request: CallRequest, state: CallState): Prepared {
    const tool = checkToolName(request.tool);
    state.tool = tool;
    const value =
      request.argumentText !== undefined
        ? parseArgumentText(request.argumentText)
        : request.arguments;
    const args = checkArgumentTree(value, this.deps.limits.maxWriteBytes);
    const adapter = this.deps.adapters.get(tool);
    state.arguments = summarizeArguments(args, new Set(adapter?.paths.map((p) => p.name) ?? []));
    const paths = adapter ? checkAdapterArguments(adapter, args).paths : new Map<string, string>();
    return { tool, adapter, args, paths };
  }

  /** The caller's bucket for this tool (unknown tools share one). */
  #admit(state: CallState, prepared: Prepared, policy: ToolPolicyView): void {
    this.deps.limiter.setLimits(policy.rateLimits);
    const key = prepared.adapter ? prepared.tool : OTHER_TOOLS;
    const taken = this.deps.limiter.take(state.caller, key, this.#now());
    if (!taken.ok) throw rateLimited(taken.retryAfterMs);
  }

  /** `tool_access` for the tool with each path, `path_access` for every path, all at once. */
  async #decide(state: CallState, prepared: Prepared): Promise<void> {
    const { tool, adapter, paths } = prepared;
    const asks: Ask[] = [];
    const declared = adapter?.paths ?? [];
    if (declared.length === 0)
      asks.push({
        domain: 'tool_access',
        path: null,
        request: { domain: 'tool_access', subject: tool },
      });
    for (const p of declared) {
      const logical = paths.get(p.name);
      if (logical !== undefined) asks.push(...this.#asksFor(tool, logical, p.access));
    }
    const deciding = await this.#ask(state, asks);
    if (deciding) {
      const verb =
        deciding.decision === 'ask' ? 'needs an approval this gate cannot give' : 'is denied';
      throw refusal(
        'policy',
        'TOOL_DENIED',
        `${tool} ${verb} by ${deciding.ruleId}${deciding.path ? ` for ${deciding.path}` : ''}`,
      );
    }
    if (!adapter)
      throw refusal(
        'validation',
        'TOOL_UNKNOWN',
        `the policy allows ${tool}, but the firewall has no adapter that runs it`,
      );
  }

  #asksFor(tool: string, logical: string, access: 'read' | 'write'): Ask[] {
    return [
      {
        domain: 'tool_access' as const,
        path: logical,
        request: {
          domain: 'tool_access',
          subject: tool,
          params: { path: logical },
        },
      },
      {
        domain: 'path_access' as const,
        path: logical,
        request: { domain: 'path_access', subject: logical, action: access },
      },
    ];
  }

  /** Asks all at once, adds each decision to the call; the first that is not allow, or null. */
  async #ask(state: CallState, asks: Ask[]): Promise<ToolDecisionData | null> {
    const answers: DecisionResponseData[] = await Promise.all(
      asks.map((a) => this.deps.engine.decide(a.request)),
    );
    const decisions = answers.map((r, i): ToolDecisionData => ({
      domain: asks[i]!.domain,
      decision: r.decision,
      decisionId: decisionRefOf(r),
      ruleId: r.evidence.ruleId,
      inputDigest: r.evidence.inputDigest,
      path: asks[i]!.path,
    }));
    state.decisions.push(...decisions);
    state.policyDigest ??= answers[0]?.evidence.policyDigest ?? null;
    const deciding = decisions.find((d) => d.decision !== 'allow') ?? null;
    if (deciding) state.deciding = deciding;
    return deciding;
  }

  /** Opens and checks every declared path, in declaration order. */
  async #resolve(state: CallState, prepared: Prepared): Promise<ResolvedPath[]> {
    const resolved: ResolvedPath[] = [];
    try {
      for (const p of prepared.adapter!.paths) {
        const logical = prepared.paths.get(p.name)!;
        // A link inside the workspace led elsewhere: that place is decided as the asked one was.
        const redecide = async (real: string) =>
          (await this.#ask(state, this.#asksFor(prepared.tool, real, p.access))) === null;
        resolved.push(
          await resolvePath(this.deps.workspace, logical, p.target, redecide, this.deps.hooks),
        );
      }
      return resolved;
    } catch (err) {
      await closeAll(resolved);
      throw err;
    }
  }

  async #refuse(state: CallState, err: unknown): Promise<CallRefusal> {
    let error = asFirewallError(err, this.deps.log);
    // A malformed call still costs its caller: a flood of them is throttled like any other.
    if (error.details.stage === 'validation' && this.deps.limiter.limits) {
      const taken = this.deps.limiter.take(state.caller, OTHER_TOOLS, this.#now());
      if (!taken.ok) error = rateLimited(taken.retryAfterMs);
    }
    const recorded = await this.deps.recorder.denied(state, error);
    return {
      ok: false,
      error: recorded.error,
      callId: state.callId,
      tool: state.tool,
      deciding: state.deciding ?? null,
      decisions: state.decisions,
      eventId: recorded.eventId,
    };
  }

  async #fail(
    state: CallState,
    after: number,
    err: unknown,
    started: number,
  ): Promise<CallRefusal> {
    const error = asFirewallError(err, this.deps.log);
    const eventId = await this.deps.recorder.failed(state, after, error, elapsed(started));
    return {
      ok: false,
      error,
      callId: state.callId,
      tool: state.tool,
      deciding: null,
      decisions: state.decisions,
      eventId,
    };
  }

  async #complete(
    state: CallState,
    after: number,
    output: AdapterOutput,
    started: number,
  ): Promise<CallOutcome> {
    const produced = typeof output.value === 'string' ? output.value : JSON.stringify(output.value);
    const clean = redactValue(output.value);
    const text = typeof clean.value === 'string' ? clean.value : JSON.stringify(clean.value);
    const cut = truncateUtf8(text, this.deps.limits.maxOutputBytes);
    const truncated = output.truncated || cut.truncated;
    const producedBytes = Math.max(output.producedBytes ?? 0, Buffer.byteLength(produced));
    let eventId: string;
    try {
      eventId = await this.deps.recorder.completed(state, after, {
        output: textDigest(cut.text),
        producedBytes,
        truncated,
        redactions: clean.counts,
        durationMs: elapsed(started),
      });
    } catch (err) {
      // The output is withheld: nothing leaves that the record does not show.
      this.deps.log?.error({ err, callId: state.callId }, 'tool.call.completed not recorded');
      const error = new ToolFirewallError(
        'NOT_RECORDED',
        'the call ran but its completion could not be recorded; the output is withheld',
      );
      return {
        ok: false,
        error,
        callId: state.callId,
        tool: state.tool,
        deciding: null,
        decisions: state.decisions,
        eventId: null,
      };
    }
    return {
      ok: true,
      callId: state.callId,
      tool: state.tool!,
      output: cut.text,
      truncated,
      redactions: clean.counts,
      decisionIds: state.decisions.flatMap((d) => (d.decisionId ? [d.decisionId] : [])),
      eventId,
    };
  }
}

function rateLimited(retryAfterMs: number): ToolFirewallError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return refusal(
    'rate_limit',
    'RATE_LIMITED',
    `rate limit reached for this caller and tool; retry in ${seconds} s`,
    {
      retryAfterSeconds: seconds,
    },
  );
}

/** An expected refusal as it is; anything else an internal failure with no detail leaked. */
function asFirewallError(err: unknown, log?: Logger): ToolFirewallError {
  if (err instanceof ToolFirewallError) return err;
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  log?.error({ err }, 'tool call failed');
  return new ToolFirewallError(
    'TOOL_FAILED',
    `the tool failed${typeof errno === 'string' ? ` (${errno})` : ''}`,
    { cause: err },
  );
}

async function closeAll(resolved: readonly ResolvedPath[]): Promise<void> {
  await Promise.all(resolved.map((r) => r.handle.close().catch(() => undefined)));
}

const elapsed = (started: number) => Math.max(0, Math.round(performance.now() - started));

/** What was sent, as text, to digest arguments that could not be read. */
function rawText(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
