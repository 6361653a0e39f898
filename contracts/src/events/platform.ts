import { Type } from '@sinclair/typebox';
import { defineEvent } from './define.js';
import {
  Count,
  Digest,
  EventId,
  IsoTime,
  NonEmpty,
  Seq,
  ServiceNameSchema,
  Sha256Hex,
  Text,
  closed,
} from './common.js';

// Events every service emits about itself, identities, and the audit chain.

export const platformEvents = {
  'service.started': defineEvent(
    'service.started',
    'service',
    Type.Object(
      {
        service: ServiceNameSchema,
        version: NonEmpty(64),
        pid: Type.Integer({ minimum: 1 }),
        configDigest: Digest,
      },
      closed,
    ),
    'A service process started and is ready.',
  ),
  'service.stopped': defineEvent(
    'service.stopped',
    'service',
    Type.Object(
      {
        service: ServiceNameSchema,
        pid: Type.Integer({ minimum: 1 }),
        reason: NonEmpty(256),
      },
      closed,
    ),
    'A service process stopped on purpose.',
  ),
  'service.failed': defineEvent(
    'service.failed',
    'service',
    Type.Object(
      {
        service: ServiceNameSchema,
        restartsInWindow: Count,
        windowSeconds: Type.Integer({ minimum: 1 }),
        lastExitCode: Type.Union([Type.Integer(), Type.Null()]),
        lastSignal: Type.Union([Type.String({ maxLength: 16 }), Type.Null()]),
      },
      closed,
    ),
    'The boot supervisor gave up restarting a service.',
  ),
  'security.envelope.rejected': defineEvent(
    'security.envelope.rejected',
    'service',
    Type.Object(
      {
        consumer: NonEmpty(128),
        code: NonEmpty(64),
        reason: Text(512),
        natsSubject: Text(512),
        streamSeq: Type.Union([Seq, Type.Null()]),
        envelopeDigest: Digest,
        claimed: Type.Object(
          {
            keyid: Type.Optional(Text(128)),
            source: Type.Optional(Text(256)),
            type: Type.Optional(Text(256)),
            subject: Type.Optional(Text(512)),
            id: Type.Optional(Text(128)),
          },
          closed,
        ),
      },
      closed,
    ),
    'A consumer refused an envelope (bad signature, unknown key, unauthorised type...).',
  ),
  'identity.root.created': defineEvent(
    'identity.root.created',
    'identity',
    Type.Object(
      {
        keyid: Sha256Hex,
        certificate: NonEmpty(16384),
        notAfter: IsoTime,
      },
      closed,
    ),
    'The appliance root CA was created (first boot).',
  ),
  'identity.issued': defineEvent(
    'identity.issued',
    'identity',
    Type.Object(
      {
        service: ServiceNameSchema,
        keyid: Sha256Hex,
        certificate: NonEmpty(16384),
        notAfter: IsoTime,
      },
      closed,
    ),
    'A service certificate was issued by the appliance root.',
  ),
  'identity.revoked': defineEvent(
    'identity.revoked',
    'identity',
    Type.Object(
      {
        service: ServiceNameSchema,
        keyid: Sha256Hex,
        reason: NonEmpty(512),
        /** Events of this key at or after this stream sequence are refused everywhere. */
        effectiveFromSeq: Seq,
      },
      closed,
    ),
    'A service certificate was revoked.',
  ),
  'security.bus.violation': defineEvent(
    'security.bus.violation',
    'identity',
    Type.Object(
      {
        /**
         * The identity whose NATS user made the request, where the server's audit lets the
         * appliance tell (absent: unattributed, recorded on `identity/unattributed`).
         */
        service: Type.Optional(ServiceNameSchema),
        /** What it tried: a push consumer (stored bytes delivered onto a subject of its choosing). */
        kind: Type.Union([Type.Literal('push_consumer'), Type.Literal('foreign_consumer')]),
        stream: NonEmpty(64),
        consumer: NonEmpty(128),
        deliverSubject: Type.Optional(Text(512)),
        /** What the appliance did about it. */
        action: Type.Union([Type.Literal('deleted'), Type.Literal('delete_failed')]),
      },
      closed,
    ),
    'The appliance found and removed a consumer a service may not hold (a push delivery subject).',
  ),
  'audit.checkpoint.sealed': defineEvent(
    'audit.checkpoint.sealed',
    'audit',
    Type.Object(
      {
        fromSeq: Seq,
        toSeq: Seq,
        count: Count,
        head: Sha256Hex,
        previousHead: Sha256Hex,
        /** The request that asked for this seal, when one did (an export sealing its tail). */
        requestId: Type.Optional(EventId),
      },
      closed,
    ),
    'The incident recorder sealed the hash chain up to toSeq.',
  ),
} as const;
