import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTHORITY,
  COMMANDS,
  DURABLES,
  SERVICES,
  catalogue,
  durablesOf,
  type EventType,
  type ServiceName,
} from '@secai/contracts';
import {
  EVENTS_STREAM,
  KV_BUCKETS,
  inboxPrefixOf,
  permissionsFor,
  permits,
  subjectMatches,
} from '../src/index.js';

// For every pair of identities (owner, other): nothing the owner holds is reachable by the other
// beyond what the authority table grants. "Holds" is everything the generator hands out per
// identity: its durables, its exclusive event subjects, its service aggregate, its command
// subjects, its inbox, its progress subjects and its checkpoint keys.

const services = SERVICES.filter((s) => s !== 'appliance') as ServiceName[];
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/);
const tail = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'));
const pair = fc
  .tuple(fc.constantFrom(...services), fc.constantFrom(...services))
  .filter(([a, b]) => a !== b);

/** Whether the authority table lets `service` emit some type on `aggregate`. */
function emitsOn(service: ServiceName, aggregate: string): boolean {
  return (Object.keys(AUTHORITY) as EventType[]).some((type) => {
    const emitters = AUTHORITY[type];
    return (
      emitters !== 'every-service' &&
      emitters.includes(service) &&
      catalogue[type].aggregate === aggregate
    );
  });
}

/** Every API subject a consumer named `name` is reached through (concrete, with a tail). */
function consumerSubjects(name: string, rest: string): string[] {
  const s = EVENTS_STREAM;
  return [
    `$JS.API.CONSUMER.CREATE.${s}.${name}`,
    `$JS.API.CONSUMER.CREATE.${s}.${name}.${rest}`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${s}.${name}`,
    `$JS.API.CONSUMER.INFO.${s}.${name}`,
    `$JS.API.CONSUMER.MSG.NEXT.${s}.${name}`,
    `$JS.API.CONSUMER.DELETE.${s}.${name}`,
    `$JS.ACK.${s}.${name}.${rest}`,
  ];
}

describe('subject matching (the server rule the property relies on)', () => {
  it('treats * as one token and > as one or more trailing tokens', () => {
    expect(subjectMatches('a.*', 'a.b')).toBe(true);
    expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
    expect(subjectMatches('a.>', 'a')).toBe(false);
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.b', 'a.b')).toBe(true);
    expect(subjectMatches('a.b', 'a.c')).toBe(false);
  });
});

describe('no identity reaches what another owns', () => {
  it("refuses every API subject of another service's durable, and the legacy create that names durables in the body", () => {
    fc.assert(
      fc.property(fc.constantFrom(...services), tail, (other, rest) => {
        const perms = permissionsFor(other);
        for (const [durable, owner] of Object.entries(DURABLES)) {
          for (const subject of consumerSubjects(durable, rest)) {
            const mayCreateOwn = owner === other;
            if (mayCreateOwn && subject.includes('.DELETE.')) continue;
            expect(permits(perms, 'publish', subject), `${other} → ${subject}`).toBe(mayCreateOwn);
          }
        }
        expect(permits(perms, 'publish', `$JS.API.CONSUMER.CREATE.${EVENTS_STREAM}`)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('grants the owner its own durables (create, info, next, ack) but never a delete', () => {
    for (const service of services) {
      for (const durable of durablesOf(service)) {
        const subjects = consumerSubjects(durable, 'secai.evt.>');
        for (const subject of subjects) {
          expect(permits(permissionsFor(service), 'publish', subject), subject).toBe(
            !subject.includes('.DELETE.'),
          );
        }
      }
    }
  });

  it("lets the other publish on the owner's event subjects only where the authority table makes it an emitter too", () => {
    fc.assert(
      fc.property(pair, token, ([owner, other], id) => {
        const perms = permissionsFor(other);
        expect(permits(perms, 'publish', `secai.evt.service.${owner}`)).toBe(false);
        for (const type of Object.keys(AUTHORITY) as EventType[]) {
          const emitters = AUTHORITY[type];
          if (emitters === 'every-service' || !emitters.includes(owner)) continue;
          const aggregate = catalogue[type].aggregate;
          expect(permits(perms, 'publish', `secai.evt.${aggregate}.${id}`), aggregate).toBe(
            emitsOn(other, aggregate),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it("lets the other send the owner's commands only when listed as a caller, and never serve them", () => {
    fc.assert(
      fc.property(pair, ([owner, other]) => {
        const perms = permissionsFor(other);
        for (const command of Object.values(COMMANDS)) {
          if (command.handler !== owner) continue;
          const subject = `secai.cmd.${owner}.${command.name}`;
          expect(permits(perms, 'publish', subject), subject).toBe(
            (command.callers as readonly string[]).includes(other),
          );
          expect(permits(perms, 'subscribe', subject), subject).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps the owner's inbox, progress and checkpoints away from the other", () => {
    fc.assert(
      fc.property(pair, tail, ([owner, other], rest) => {
        const perms = permissionsFor(other);
        const callsOwner = Object.values(COMMANDS).some(
          (c) => c.handler === owner && (c.callers as readonly string[]).includes(other),
        );
        expect(permits(perms, 'subscribe', `${inboxPrefixOf(owner)}.${rest}`)).toBe(false);
        expect(permits(perms, 'publish', `${inboxPrefixOf(owner)}.${rest}`)).toBe(false);
        expect(permits(perms, 'publish', `secai.progress.${owner}.${rest}`)).toBe(false);
        // Progress is readable only by those who may send the owner's long commands.
        expect(permits(perms, 'subscribe', `secai.progress.${owner}.${rest}`)).toBe(callsOwner);
        const cp = KV_BUCKETS.checkpoints;
        expect(permits(perms, 'publish', `$KV.${cp}.${owner}.${rest}`)).toBe(false);
        expect(
          permits(perms, 'publish', `$JS.API.DIRECT.GET.KV_${cp}.$KV.${cp}.${owner}.${rest}`),
        ).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('can fail: a permission set with a blanket allow is caught by the same check', () => {
    const blanket = { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
    const [durable] = Object.keys(DURABLES);
    expect(permits(blanket, 'publish', `$JS.ACK.${EVENTS_STREAM}.${durable}.1.2.3`)).toBe(true);
  });
});
