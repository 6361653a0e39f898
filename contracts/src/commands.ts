import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import { DecisionRequest, DecisionResponse } from './decisions.js';
import {
  Count,
  EventId,
  GitRevision,
  Operator,
  Seq,
  ServiceNameSchema,
  Sha256Hex,
  SubjectToken,
  closed,
} from './events/common.js';
import { ModelName, SourceUrl } from './events/supplyChain.js';
import type { ServiceName } from './services.js';

/**
 * A request/reply command on `secai.cmd.<handler>.<name>`, carried in the same signed envelope
 * as events. The CloudEvent type of a request is `<handler>.<name>`, of its reply
 * `<handler>.<name>.replied`. What a command changes is recorded by its handler as events.
 */
export interface CommandDefinition<
  Name extends string = string,
  Req extends TSchema = TSchema,
  Rep extends TSchema = TSchema,
> {
  readonly handler: ServiceName;
  readonly name: Name;
  readonly version: number;
  /** Identities allowed to send it; NATS permissions and the handler both enforce this. */
  readonly callers: readonly ServiceName[];
  readonly request: Req;
  readonly reply: Rep;
}

function defineCommand<Name extends string, Req extends TSchema, Rep extends TSchema>(
  def: CommandDefinition<Name, Req, Rep>,
): CommandDefinition<Name, Req, Rep> {
  return def;
}

/** A reply is either the command's answer or a coded refusal. */
export const CommandFailure = Type.Object(
  {
    ok: Type.Literal(false),
    code: Type.String({ minLength: 1, maxLength: 64 }),
    message: Type.String({ maxLength: 1024 }),
  },
  closed,
);

/** A command's answer: its own fields with `ok: true`, or a coded refusal. */
function answer<P extends TProperties>(fields: P) {
  return Type.Union([Type.Object({ ok: Type.Literal(true), ...fields }, closed), CommandFailure]);
}

/** Request of the operator commands that only need a reason (recorded with what they do). */
const WithReason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 256 }) }, closed);

/** An import of a local file or diffusers-style directory into quarantine. */
const ImportRequest = Type.Object(
  {
    /** Absolute path on the appliance (the quarantine service reads it, not the caller). */
    path: Type.String({ minLength: 2, maxLength: 4096, pattern: '^/[^\\x00]*$' }),
    /** Human name for the registry; defaults to the file name. */
    name: Type.Optional(ModelName),
    url: Type.Optional(SourceUrl),
    revision: Type.Optional(GitRevision),
    /** An OpenSSF model-signing bundle for a single file (a directory carries `model.sig`). */
    signaturePath: Type.Optional(
      Type.String({ minLength: 2, maxLength: 4096, pattern: '^/[^\\x00]*$' }),
    ),
    /** The person who asked (the UI names its logged-in operator; the CLI may leave it out). */
    operator: Type.Optional(Operator),
  },
  closed,
);

/**
 * A containment action asked of its owner by the incident recorder (or an operator). The owner
 * answers whether the action holds now, and confirms with its own event where it has one.
 */
const ContainmentRequest = Type.Object(
  {
    incidentId: Type.Optional(SubjectToken(64)),
    reason: Type.String({ minLength: 1, maxLength: 512 }),
  },
  closed,
);
const ContainmentReply = answer({
  /** True when the action already held before this request (the commands are idempotent). */
  alreadyDone: Type.Boolean(),
});
/** Most decisions one what-if re-evaluates (the request must fit one command envelope). */
export const WHAT_IF_MAX_DECISIONS = 100;
/** A candidate policy as files (policy.yaml and agent.yaml, optionally mcp.yaml) and inputs. */
const WhatIfRequest = Type.Object(
  {
    files: Type.Array(
      Type.Object(
        {
          name: Type.Union([
            Type.Literal('policy.yaml'),
            Type.Literal('agent.yaml'),
            Type.Literal('mcp.yaml'),
          ]),
          text: Type.String({ maxLength: 131_072 }),
        },
        closed,
      ),
      { minItems: 1, maxItems: 3 },
    ),
    /** Recorded decisions: their address and the canonical input they were decided on. */
    decisions: Type.Array(
      Type.Object(
        {
          decisionId: Type.String({ minLength: 1, maxLength: 160 }),
          input: Type.String({ minLength: 2, maxLength: 8192 }),
        },
        closed,
      ),
      { minItems: 1, maxItems: WHAT_IF_MAX_DECISIONS },
    ),
  },
  closed,
);
/** What the candidate policy decides for one recorded decision's input. */
const WhatIfResult = Type.Object(
  {
    decisionId: Type.String({ minLength: 1, maxLength: 160 }),
    decision: Type.String({ minLength: 1, maxLength: 16 }),
    ruleId: Type.String({ minLength: 1, maxLength: 256 }),
    reason: Type.String({ maxLength: 1024 }),
  },
  closed,
);
/** An operator step on an incident: who, and what they say. */
const IncidentStep = Type.Object(
  {
    incidentId: SubjectToken(64),
    operator: Operator,
    note: Type.String({ maxLength: 1024 }),
  },
  closed,
);

export const COMMANDS = {
  'policy-engine.decide': defineCommand({
    handler: 'policy-engine',
    name: 'decide',
    version: 1,
    // Every gate asks; the CLI asks for operators' what-ifs against the live engine.
    callers: [
      'airlock',
      'quarantine',
      'registry',
      'inference',
      'tool-firewall',
      'mcp-firewall',
      'search-mediator',
      'agent',
      'ui',
      'cli',
    ],
    request: DecisionRequest,
    reply: answer({ result: DecisionResponse }),
  }),
  'policy-engine.reload': defineCommand({
    handler: 'policy-engine',
    name: 'reload',
    version: 1,
    callers: ['cli', 'appliance'],
    request: WithReason,
    reply: answer({
      digest: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
      changed: Type.Boolean(),
    }),
  }),
  // A candidate policy tried on recorded decisions without loading it: the UI's "what if" and
  // the CLI's. Pure evaluation; nothing is recorded and the live policy is untouched.
  'policy-engine.what_if': defineCommand({
    handler: 'policy-engine',
    name: 'what_if',
    version: 1,
    callers: ['cli', 'ui'],
    request: WhatIfRequest,
    reply: answer({
      policyDigest: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
      results: Type.Array(WhatIfResult, { maxItems: WHAT_IF_MAX_DECISIONS }),
    }),
  }),
  'incident-recorder.seal': defineCommand({
    handler: 'incident-recorder',
    name: 'seal',
    version: 1,
    callers: ['cli', 'appliance'],
    request: WithReason,
    reply: answer({
      /** Stream sequence of the seal event (null: nothing new to seal). */
      sealSeq: Type.Union([Seq, Type.Null()]),
      toSeq: Type.Union([Seq, Type.Null()]),
      head: Sha256Hex,
    }),
  }),
  'quarantine.import': defineCommand({
    handler: 'quarantine',
    name: 'import',
    version: 1,
    callers: ['cli', 'ui'],
    request: ImportRequest,
    // Accepted once the source was walked (links, hidden paths, sizes, free space checked);
    // copying and hashing go on after the reply, reported on the progress subject, and the
    // artifact's `model.acquired` (causation: this request) is the outcome.
    reply: answer({ totalBytes: Count, files: Count }),
  }),
  'registry.verify': defineCommand({
    handler: 'registry',
    name: 'verify',
    version: 1,
    callers: ['cli', 'ui', 'inference', 'integrity-monitor', 'incident-recorder'],
    request: Type.Object({ model: Sha256Hex }, closed),
    // Accepted at once; the re-hash reports progress and ends in `model.verified` or
    // `model.verification.failed` with this request as causation.
    reply: answer({ sizeBytes: Count }),
  }),
  'registry.quarantine_model': defineCommand({
    handler: 'registry',
    name: 'quarantine_model',
    version: 1,
    callers: ['incident-recorder', 'cli', 'ui'],
    request: Type.Object(
      {
        model: Sha256Hex,
        reason: Type.String({ minLength: 1, maxLength: 512 }),
        /** The incident whose containment asks; absent when an operator asks. */
        incidentId: Type.Optional(SubjectToken(64)),
        /** The person who asked (the UI names its logged-in operator). */
        operator: Type.Optional(Operator),
      },
      closed,
    ),
    reply: answer({
      /** Where the bytes now are, relative to the containment area. */
      containedPath: Type.String({ minLength: 1, maxLength: 4096 }),
      /** True when the model had already been contained (the command is idempotent). */
      alreadyContained: Type.Boolean(),
    }),
  }),
  'registry.remove': defineCommand({
    handler: 'registry',
    name: 'remove',
    version: 1,
    callers: ['cli', 'ui'],
    request: Type.Object(
      {
        model: Sha256Hex,
        reason: Type.String({ minLength: 1, maxLength: 512 }),
        /** The person who asked (the UI names its logged-in operator). */
        operator: Type.Optional(Operator),
      },
      closed,
    ),
    reply: answer({ removed: Type.Boolean() }),
  }),
  'agent.freeze': defineCommand({
    handler: 'agent',
    name: 'freeze',
    version: 1,
    callers: ['incident-recorder', 'cli'],
    request: ContainmentRequest,
    reply: ContainmentReply,
  }),
  'airlock.disable': defineCommand({
    handler: 'airlock',
    name: 'disable',
    version: 1,
    callers: ['incident-recorder', 'cli'],
    request: ContainmentRequest,
    reply: ContainmentReply,
  }),
  // The vault belongs to the appliance itself (its key is the appliance's to release).
  'appliance.relock_vault': defineCommand({
    handler: 'appliance',
    name: 'relock_vault',
    version: 1,
    callers: ['incident-recorder', 'cli'],
    request: ContainmentRequest,
    reply: ContainmentReply,
  }),
  // Containment of a compromised identity: the appliance holds the root and the bus config.
  'appliance.revoke_identity': defineCommand({
    handler: 'appliance',
    name: 'revoke_identity',
    version: 1,
    callers: ['incident-recorder', 'cli'],
    request: Type.Object(
      {
        service: ServiceNameSchema,
        incidentId: Type.Optional(SubjectToken(64)),
        reason: Type.String({ minLength: 1, maxLength: 512 }),
      },
      closed,
    ),
    reply: ContainmentReply,
  }),
  'runtime-attestor.attest': defineCommand({
    handler: 'runtime-attestor',
    name: 'attest',
    version: 1,
    callers: ['cli', 'appliance', 'incident-recorder', 'ui'],
    request: WithReason,
    // A fresh quote, answered once its `attestation.*` event is stored.
    reply: answer({
      outcome: Type.Union([
        Type.Literal('verified'),
        Type.Literal('degraded'),
        Type.Literal('failed'),
      ]),
      eventId: EventId,
    }),
  }),
  'integrity-monitor.scan': defineCommand({
    handler: 'integrity-monitor',
    name: 'scan',
    version: 1,
    callers: ['cli', 'appliance', 'incident-recorder'],
    request: WithReason,
    reply: answer({ filesChecked: Count, violations: Count }),
  }),
  'integrity-monitor.rebaseline': defineCommand({
    handler: 'integrity-monitor',
    name: 'rebaseline',
    version: 1,
    callers: ['cli'],
    request: Type.Object(
      { reason: Type.String({ minLength: 1, maxLength: 512 }), operator: Operator },
      closed,
    ),
    // The `integrity.rebaselined` event names every difference accepted.
    reply: answer({ eventId: EventId, differences: Count }),
  }),
  'incident-recorder.acknowledge': defineCommand({
    handler: 'incident-recorder',
    name: 'acknowledge',
    version: 1,
    callers: ['cli', 'ui'],
    request: IncidentStep,
    reply: answer({ state: Type.String({ minLength: 1, maxLength: 64 }) }),
  }),
  'incident-recorder.resolve': defineCommand({
    handler: 'incident-recorder',
    name: 'resolve',
    version: 1,
    callers: ['cli', 'ui'],
    request: IncidentStep,
    reply: answer({ state: Type.String({ minLength: 1, maxLength: 64 }) }),
  }),
} as const;

export type CommandType = keyof typeof COMMANDS;
export type CommandRequest<C extends CommandType> = Static<(typeof COMMANDS)[C]['request']>;
export type CommandReply<C extends CommandType> = Static<(typeof COMMANDS)[C]['reply']>;

export function isCommandType(type: string): type is CommandType {
  return Object.hasOwn(COMMANDS, type);
}
