import { Type, type Static } from '@sinclair/typebox';

// Request bodies and parameters of the UI's API, validated strictly (unknown fields refused,
// no coercion): a refusal is 400 `REQUEST_INVALID` naming the field.

const closed = { additionalProperties: false } as const;

/** Auth bodies are small: 4 KiB at most (the route's body limit). */
export const AUTH_BODY_LIMIT = 4096;
/** Every other body. */
export const BODY_LIMIT = 64 * 1024;

export const SetupBody = Type.Object(
  {
    setupCode: Type.String({ minLength: 1, maxLength: 128 }),
    operator: Type.String({ minLength: 1, maxLength: 256 }),
    passphrase: Type.String({ minLength: 1, maxLength: 2048 }),
  },
  closed,
);
export type SetupBody = Static<typeof SetupBody>;

/** Longer than the policy allows is still a wrong passphrase (counted), not a malformed request. */
export const LoginBody = Type.Object({ passphrase: Type.String({ maxLength: 2048 }) }, closed);
export type LoginBody = Static<typeof LoginBody>;

export const ChangeBody = Type.Object(
  {
    current: Type.String({ maxLength: 2048 }),
    next: Type.String({ minLength: 1, maxLength: 2048 }),
  },
  closed,
);
export type ChangeBody = Static<typeof ChangeBody>;

export const ImportBody = Type.Object(
  {
    /** Absolute path on the appliance; the quarantine service reads it, not the UI. */
    path: Type.String({ minLength: 2, maxLength: 4096, pattern: '^/[^\\x00-\\x1f\\x7f]*$' }),
    name: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\x00-\\x1f\\x7f/\\\\]+$' }),
    ),
  },
  closed,
);
export type ImportBody = Static<typeof ImportBody>;

export const ReasonBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1f\\x7f]+$' }) },
  closed,
);
export type ReasonBody = Static<typeof ReasonBody>;

export const NoteBody = Type.Object(
  { note: Type.String({ maxLength: 1024, pattern: '^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$' }) },
  closed,
);
export type NoteBody = Static<typeof NoteBody>;

export const DigestParams = Type.Object(
  { digest: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
  closed,
);
export type DigestParams = Static<typeof DigestParams>;

export const IncidentParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) },
  closed,
);
export type IncidentParams = Static<typeof IncidentParams>;

/** Three policy files of at most 128 KiB each, and the JSON around them. */
export const WHAT_IF_BODY_LIMIT = 3 * 131_072 + 16 * 1024;

const PolicyText = Type.String({ maxLength: 131_072 });
export const WhatIfBody = Type.Object(
  {
    /** The candidate policy: file name → YAML text (policy.yaml and agent.yaml; mcp.yaml optional). */
    policy: Type.Object(
      {
        'policy.yaml': Type.Optional(PolicyText),
        'agent.yaml': Type.Optional(PolicyText),
        'mcp.yaml': Type.Optional(PolicyText),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
    /** Recorded decisions to try it on; absent: the latest 100. */
    decisionIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 160 }), {
        minItems: 1,
        maxItems: 100,
        uniqueItems: true,
      }),
    ),
  },
  closed,
);
export type WhatIfBody = Static<typeof WhatIfBody>;
