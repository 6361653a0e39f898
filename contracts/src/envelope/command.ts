import { COMMANDS, isCommandType, type CommandType } from '../commands.js';
import { dataschemaOf } from '../events/define.js';
import { schemaProblems } from '../events/validate.js';
import { newEventId } from '../ids.js';
import { sourceOf } from '../services.js';
import { EnvelopeError } from './errors.js';
import { signDocument, encodeEnvelope } from './sign.js';
import type { TrustStore } from './trust.js';
import type { CloudEvent, Signer } from './types.js';
import { verifySignedDocument, type VerifyOptions } from './verify.js';

export type CommandDirection = 'request' | 'reply';

function typeOf(command: CommandType, direction: CommandDirection): string {
  return direction === 'request' ? command : `${command}.replied`;
}

/**
 * Signs a command request or reply. Replies carry the request id as `causationid`, so a reply
 * cannot be replayed as the answer to another request.
 */
export function signCommand(
  command: CommandType,
  direction: CommandDirection,
  data: unknown,
  signer: Signer,
  meta: { now: Date; id?: string; correlationId?: string; causationId?: string },
): { document: CloudEvent; bytes: Uint8Array } {
  const def = COMMANDS[command];
  // A caller may fix the id beforehand, to listen for the command's progress before sending it.
  const id = meta.id ?? newEventId(meta.now);
  const type = typeOf(command, direction);
  const document: CloudEvent = {
    specversion: '1.0',
    id,
    source: sourceOf(signer.service),
    type,
    subject: `command/${id}`,
    time: meta.now.toISOString(),
    datacontenttype: 'application/json',
    dataschema: dataschemaOf({ type, version: def.version }, 'command'),
    data,
    correlationid: meta.correlationId ?? id,
  };
  if (meta.causationId !== undefined) document.causationid = meta.causationId;
  return { document, bytes: encodeEnvelope(signDocument(document, signer)) };
}

/**
 * Verifies a command request (signer must be one of the command's callers) or reply (signer must
 * be the handler, and it must answer `inReplyTo`), then validates `data` against its schema.
 */
export function verifyCommand(
  bytes: Uint8Array,
  trust: TrustStore,
  expected: { command: string; direction: CommandDirection; inReplyTo?: string },
  options: VerifyOptions = {},
): { document: CloudEvent; signer: string } {
  const { event, key, claims } = verifySignedDocument(bytes, trust, options);
  if (!isCommandType(expected.command)) {
    throw new EnvelopeError(
      'TYPE_UNKNOWN',
      `command ${expected.command} is not in the catalogue`,
      claims,
    );
  }
  const def = COMMANDS[expected.command];
  const type = typeOf(expected.command, expected.direction);
  if (event.type !== type) {
    throw new EnvelopeError('TYPE_UNKNOWN', `expected ${type}, got ${event.type}`, claims);
  }
  const allowed =
    expected.direction === 'request'
      ? (def.callers as readonly string[]).includes(key.service)
      : key.service === def.handler;
  if (!allowed) {
    throw new EnvelopeError('TYPE_NOT_AUTHORISED', `${key.service} may not send ${type}`, claims);
  }
  if (expected.inReplyTo !== undefined && event.causationid !== expected.inReplyTo) {
    throw new EnvelopeError(
      'SUBJECT_MISMATCH',
      `reply answers ${event.causationid ?? 'nothing'}, not ${expected.inReplyTo}`,
      claims,
    );
  }
  const schema = expected.direction === 'request' ? def.request : def.reply;
  const problems = schemaProblems(schema, event.data);
  if (problems.length > 0) {
    throw new EnvelopeError(
      'SCHEMA_INVALID',
      `data of ${type} is invalid: ${problems.join('; ')}`,
      claims,
    );
  }
  return { document: event, signer: key.service };
}
