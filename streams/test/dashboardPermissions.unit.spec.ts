import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS, DURABLES, SERVICES } from '@secai/contracts';
import {
  EVENTS_STREAM,
  KV_BUCKETS,
  dashboardPermissions,
  inboxPrefixOf,
  permits,
} from '../src/index.js';

// The dashboard (browser and terminal) is the one identity a person's screen holds: it may read
// the event stream and the trust KV, and the server must refuse it everything else. The
// subjects below are the ones nats.js 3.3 uses for each operation.

const S = EVENTS_STREAM;
const KV = `KV_${KV_BUCKETS.trust}`;
const dashboard = dashboardPermissions();
const pub = (subject: string) => permits(dashboard, 'publish', subject);
const sub = (subject: string) => permits(dashboard, 'subscribe', subject);
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/);

describe('dashboard permissions: what it may do', () => {
  it('reads streams: info, message gets, ordered pull consumers (create, info, next)', () => {
    for (const subject of [
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${S}`,
      `$JS.API.STREAM.MSG.GET.${S}`,
      `$JS.API.DIRECT.GET.${S}`,
      `$JS.API.DIRECT.GET.${S}.secai.evt.model.abc`,
      `$JS.API.CONSUMER.CREATE.${S}.Xk3vY2_1`,
      `$JS.API.CONSUMER.CREATE.${S}.Xk3vY2_1.secai.evt.>`,
      `$JS.API.CONSUMER.INFO.${S}.Xk3vY2_1`,
      `$JS.API.CONSUMER.MSG.NEXT.${S}.Xk3vY2_1`,
    ])
      expect(pub(subject), subject).toBe(true);
  });

  it('reads the trust KV (info, gets, ordered pull consumers on its stream)', () => {
    for (const subject of [
      `$JS.API.STREAM.INFO.${KV}`,
      `$JS.API.STREAM.MSG.GET.${KV}`,
      `$JS.API.DIRECT.GET.${KV}.$KV.${KV_BUCKETS.trust}.bundle`,
      `$JS.API.CONSUMER.CREATE.${KV}.oc_1`,
      `$JS.API.CONSUMER.CREATE.${KV}.oc_1.$KV.${KV_BUCKETS.trust}.bundle`,
      `$JS.API.CONSUMER.MSG.NEXT.${KV}.oc_1`,
    ])
      expect(pub(subject), subject).toBe(true);
  });

  it('subscribes to live events and its own inbox (where pull consumers deliver)', () => {
    expect(sub('secai.evt.model.abc')).toBe(true);
    expect(sub(`${inboxPrefixOf('dashboard')}.nuid123.1`)).toBe(true);
    expect(inboxPrefixOf('dashboard')).toBe('_INBOX_dashboard');
  });
});

describe('dashboard permissions: what the server refuses', () => {
  it('publishes no event, command, progress or inbox subject of anyone', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SERVICES), token, (service, id) => {
        expect(pub(`secai.evt.service.${service}`)).toBe(false);
        expect(pub(`secai.evt.model.${id}`)).toBe(false);
        expect(pub(`secai.progress.${service}.${id}`)).toBe(false);
        expect(pub(`${inboxPrefixOf(service)}.${id}`)).toBe(false);
        expect(pub(`_INBOX.${id}`)).toBe(false);
      }),
      { numRuns: 200 },
    );
    for (const command of Object.values(COMMANDS)) {
      const subject = `secai.cmd.${command.handler}.${command.name}`;
      expect(pub(subject), subject).toBe(false);
      expect(sub(subject), subject).toBe(false);
    }
  });

  it('creates no durable, deletes and purges nothing, changes no stream, acks nothing, writes no KV', () => {
    fc.assert(
      fc.property(token, (name) => {
        for (const stream of [S, KV]) {
          for (const subject of [
            `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
            `$JS.API.CONSUMER.DELETE.${stream}.${name}`,
            `$JS.API.CONSUMER.CREATE.${stream}`,
            `$JS.API.STREAM.DELETE.${stream}`,
            `$JS.API.STREAM.PURGE.${stream}`,
            `$JS.API.STREAM.UPDATE.${stream}`,
            `$JS.API.STREAM.CREATE.${stream}`,
            `$JS.API.STREAM.MSG.DELETE.${stream}`,
            `$JS.ACK.${stream}.${name}.1.1.1.1.0`,
            `$JS.FC.${stream}.${name}`,
          ])
            expect(pub(subject), subject).toBe(false);
        }
        expect(pub(`$KV.${KV_BUCKETS.trust}.${name}`)).toBe(false);
        expect(pub(`$KV.${KV_BUCKETS.checkpoints}.${name}`)).toBe(false);
        expect(pub(`$JS.API.STREAM.CREATE.${name}`)).toBe(false);
        expect(pub(`$JS.API.CONSUMER.CREATE.${name}.x`)).toBe(S === name || KV === name);
      }),
      { numRuns: 200 },
    );
  });

  it('reaches no service durable, not even by the named create it may use', () => {
    for (const durable of Object.keys(DURABLES)) {
      for (const subject of [
        `$JS.API.CONSUMER.CREATE.${S}.${durable}`,
        `$JS.API.CONSUMER.CREATE.${S}.${durable}.secai.evt.>`,
        `$JS.API.CONSUMER.INFO.${S}.${durable}`,
        `$JS.API.CONSUMER.MSG.NEXT.${S}.${durable}`,
      ])
        expect(pub(subject), subject).toBe(false);
    }
  });

  it('reads no other KV bucket and subscribes to nothing but events and its inbox', () => {
    const checkpoints = `KV_${KV_BUCKETS.checkpoints}`;
    expect(pub(`$JS.API.STREAM.INFO.${checkpoints}`)).toBe(false);
    expect(pub(`$JS.API.DIRECT.GET.${checkpoints}.$KV.${KV_BUCKETS.checkpoints}.registry.x`)).toBe(
      false,
    );
    expect(sub('$JS.EVENT.ADVISORY.API')).toBe(false);
    expect(sub('_INBOX_registry.x')).toBe(false);
    expect(sub('>')).toBe(false);
    expect(dashboard.allow_responses).toBeUndefined();
  });
});
