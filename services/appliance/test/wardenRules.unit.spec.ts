import { describe, expect, it } from 'vitest';
import {
  connzRtt,
  createdConsumer,
  judgeConsumer,
  judgeUnattributed,
  parseGoDuration,
  requesterByRtt,
} from '../src/wardenRules.js';

// The consumer warden's rules, in process: what an identity may hold, and how the requester of
// an audited JetStream call is named.

describe('judgeConsumer', () => {
  it("refuses a push consumer delivering outside the identity's own inbox", () => {
    expect(
      judgeConsumer('ui', {
        stream: 'SECAI_EVENTS',
        name: 'pushy',
        durable: false,
        deliverSubject: 'secai.cmd.registry.quarantine_model',
      }),
    ).toMatchObject({ allowed: false, kind: 'push_consumer' });
    // Another identity's inbox is not its own either.
    expect(
      judgeConsumer('ui', {
        stream: 'S',
        name: 'x',
        durable: false,
        deliverSubject: '_INBOX_registry.a',
      }),
    ).toMatchObject({ allowed: false, kind: 'push_consumer' });
  });

  it('allows a push consumer into its own inbox (a KV watcher) and pull consumers', () => {
    expect(
      judgeConsumer('ui', {
        stream: 'KV_secai_trust',
        name: 'w',
        durable: false,
        deliverSubject: '_INBOX_ui.abc',
      }),
    ).toEqual({ allowed: true });
    expect(judgeConsumer('ui', { stream: 'SECAI_EVENTS', name: 'oc_1', durable: false })).toEqual({
      allowed: true,
    });
  });

  it("allows only the identity's own durables from the table", () => {
    expect(
      judgeConsumer('registry', {
        stream: 'SECAI_EVENTS',
        name: 'registry-promotion',
        durable: true,
      }),
    ).toEqual({ allowed: true });
    expect(
      judgeConsumer('ui', { stream: 'SECAI_EVENTS', name: 'registry-promotion', durable: true }),
    ).toMatchObject({ allowed: false, kind: 'foreign_consumer' });
    expect(
      judgeConsumer('registry', { stream: 'SECAI_EVENTS', name: 'registry-sneaky', durable: true }),
    ).toMatchObject({ allowed: false, kind: 'foreign_consumer' });
  });
});

describe('judgeUnattributed', () => {
  const identities = ['ui', 'registry'];
  it('refuses only what no identity may hold', () => {
    expect(
      judgeUnattributed(identities, {
        stream: 'S',
        name: 'p',
        durable: false,
        deliverSubject: 'secai.cmd.x.y',
      }),
    ).toMatchObject({ allowed: false, kind: 'push_consumer' });
    expect(
      judgeUnattributed(identities, {
        stream: 'S',
        name: 'p',
        durable: false,
        deliverSubject: '_INBOX_ui.q',
      }),
    ).toEqual({ allowed: true });
    expect(
      judgeUnattributed(identities, { stream: 'S', name: 'nobody-s', durable: true }),
    ).toMatchObject({
      allowed: false,
      kind: 'foreign_consumer',
    });
    // A listed durable may be its owner's: never removed on a guess.
    expect(
      judgeUnattributed(identities, { stream: 'S', name: 'registry-promotion', durable: true }),
    ).toEqual({ allowed: true });
  });
});

describe('createdConsumer', () => {
  const response = (body: object) => JSON.stringify(body);
  it('reads a successful create from the audit, and nothing else', () => {
    expect(
      createdConsumer({
        subject: '$JS.API.CONSUMER.CREATE.SECAI_EVENTS.pushy',
        response: response({
          stream_name: 'SECAI_EVENTS',
          name: 'pushy',
          config: { deliver_subject: 'a.b' },
        }),
      }),
    ).toEqual({ stream: 'SECAI_EVENTS', name: 'pushy', durable: false, deliverSubject: 'a.b' });
    expect(
      createdConsumer({
        subject: '$JS.API.CONSUMER.DURABLE.CREATE.SECAI_EVENTS.d',
        response: response({
          stream_name: 'SECAI_EVENTS',
          name: 'd',
          config: { durable_name: 'd' },
        }),
      }),
    ).toEqual({ stream: 'SECAI_EVENTS', name: 'd', durable: true });
    expect(
      createdConsumer({
        subject: '$JS.API.CONSUMER.CREATE.SECAI_EVENTS.x',
        response: response({ error: { code: 403 } }),
      }),
    ).toBeNull();
    expect(createdConsumer({ subject: '$JS.API.STREAM.INFO.S', response: '{}' })).toBeNull();
    expect(
      createdConsumer({ subject: '$JS.API.CONSUMER.CREATE.S.x', response: 'not json' }),
    ).toBeNull();
  });
});

describe('requester by RTT (nats-server 2.9 audits name no user)', () => {
  it('parses Go durations to the exact nanosecond', () => {
    expect(parseGoDuration('24.126977ms')).toBe(24_126_977);
    expect(parseGoDuration('850µs')).toBe(850_000);
    expect(parseGoDuration('1.5s')).toBe(1_500_000_000);
    expect(parseGoDuration('1m2.5s')).toBe(62_500_000_000);
    expect(parseGoDuration('120ns')).toBe(120);
    expect(parseGoDuration('0s')).toBe(0);
    expect(parseGoDuration('soon')).toBeNull();
    expect(parseGoDuration('5ms later')).toBeNull();
  });

  it('compares at the precision the server prints (µs between 1 µs and 1 ms)', () => {
    expect(connzRtt(850_123)).toBe(850_000);
    expect(connzRtt(24_126_977)).toBe(24_126_977);
  });

  it('names the one matching connection, and nobody when two match', () => {
    const conns = [
      { authorized_user: 'UA', rtt: '24.126977ms' },
      { authorized_user: 'UB', rtt: '850µs' },
      { authorized_user: 'UC', rtt: '850µs' },
    ];
    expect(requesterByRtt(conns, 24_126_977)).toBe('UA');
    expect(requesterByRtt(conns, 850_321)).toBeNull();
    expect(requesterByRtt(conns, 1)).toBeNull();
    // Two connections of the same identity with the same RTT still name it.
    expect(
      requesterByRtt([conns[0]!, { authorized_user: 'UA', rtt: '24.126977ms' }], 24_126_977),
    ).toBe('UA');
  });
});
