import { Type } from '@sinclair/typebox';
import { SERVICES } from '../services.js';

/** Lowercase hex SHA-256. */
export const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });
/** `sha256:<hex>`, the form digests take when they leave the process. */
export const Digest = Type.String({ pattern: '^sha256:[0-9a-f]{64}$' });
export const IsoTime = Type.String({ format: 'date-time' });
export const ServiceNameSchema = Type.Union(SERVICES.map((s) => Type.Literal(s)));
export const NonEmpty = (maxLength = 1024) => Type.String({ minLength: 1, maxLength });
export const Text = (maxLength = 4096) => Type.String({ maxLength });
export const Count = Type.Integer({ minimum: 0 });
export const Seq = Type.Integer({ minimum: 1 });
export const EventId = Type.String({ minLength: 1, maxLength: 64 });
/** Every object in an event is closed: an unknown field is a schema violation, not ignored data. */
export const closed = { additionalProperties: false } as const;

// ---- Added with the supply-chain, policy and enforcement catalogue (append only). ----

/** A 40-hex git commit (Hugging Face revisions, release source commits). */
export const GitRevision = Type.String({ pattern: '^[0-9a-f]{40}$' });
/** A fresh 32-byte challenge as 64 lowercase hex (attestation nonces). */
export const Nonce = Type.String({ pattern: '^[0-9a-f]{64}$' });
/** A stable machine-readable code (`hash_mismatch`, `stage_timeout`): what tests and dashboards match on. */
export const ReasonCode = Type.String({ pattern: '^[a-z][a-z0-9_.-]*$', maxLength: 64 });
/** One identifier token: safe as a NATS subject token, so usable as an aggregate id. */
export const SubjectToken = (maxLength = 128) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$' });
/** `<aggregateType>/<aggregateId>`, the CloudEvent `subject` form, to point at another aggregate. */
export const AggregateRef = Type.String({
  maxLength: 200,
  pattern: '^[a-z][a-z0-9-]*/[A-Za-z0-9_-]+$',
});
/** An absolute filesystem path (paths are not secrets; file contents are). */
export const AbsolutePath = Type.String({
  minLength: 1,
  maxLength: 4096,
  pattern: '^/[^\\x00-\\x1f\\x7f]*$',
});
/** A person named in a ceremony (ack, rebaseline, removal): printable, no control characters. */
export const Operator = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\x00-\\x1f\\x7f]+$',
});
/** Shared severity scale, lowest first (incidents, integrity violations, model anomalies). */
export const Severity = Type.Union([
  Type.Literal('low'),
  Type.Literal('medium'),
  Type.Literal('high'),
  Type.Literal('critical'),
]);
/** One value of a `Facts` map: a scalar or a short list of short strings, never a nested object. */
export const FactValue = Type.Union([
  Type.String({ maxLength: 512 }),
  Type.Number(),
  Type.Boolean(),
  Type.Null(),
  Type.Array(Type.String({ maxLength: 256 }), { maxItems: 32 }),
]);
/**
 * A bounded, flat map of stage- or probe-specific facts (`tensor_count`, `smoke.flagged_count`).
 * Genuinely open on purpose: each stage reports different facts, and the schema cannot list them all.
 * It stays bounded: at most 64 keys matching a fixed pattern (nesting is spelled with dots), scalar
 * values or short string lists only, so it can never carry a file, a prompt or raw scanner output.
 */
export const Facts = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_.]{0,63}$' }), FactValue, {
  maxProperties: 64,
  additionalProperties: false,
});
