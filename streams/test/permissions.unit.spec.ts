import { describe, expect, it } from 'vitest';
import { AUTHORITY, SERVICES, catalogue, type EventType } from '@secai/contracts';
import {
  inboxPrefixOf,
  ownedAggregates,
  permissionsFor,
  renderServerConfig,
} from '../src/index.js';

describe('NATS permissions mirror the authority table', () => {
  it('gives each service publish rights exactly on the aggregates of the types it emits, plus its own service aggregate', () => {
    for (const service of SERVICES.filter((s) => s !== 'appliance')) {
      const allow = permissionsFor(service).publish.allow ?? [];
      const eventSubjects = allow.filter((s) => s.startsWith('secai.evt.'));
      const expected = new Set<string>([`secai.evt.service.${service}`]);
      for (const type of Object.keys(AUTHORITY) as EventType[]) {
        const emitters = AUTHORITY[type];
        if (emitters !== 'every-service' && emitters.includes(service))
          expected.add(`secai.evt.${catalogue[type].aggregate}.*`);
      }
      expect(new Set(eventSubjects)).toEqual(expected);
      expect(allow).not.toContain('>');
      expect(allow.some((s) => s.includes('DELETE') || s.includes('PURGE'))).toBe(false);
    }
  });

  it('lets quarantine publish on artifact aggregates and nothing of the registry', () => {
    expect(ownedAggregates('quarantine')).toEqual(['artifact']);
    const allow = permissionsFor('quarantine').publish.allow ?? [];
    expect(allow).toContain('secai.evt.artifact.*');
    expect(allow).not.toContain('secai.evt.model.*');
  });

  it('lets a service subscribe only to its own inbox, its own commands and the progress of the commands it sends', () => {
    expect(permissionsFor('registry').subscribe.allow).toEqual([
      `${inboxPrefixOf('registry')}.>`,
      'secai.cmd.registry.>',
      'secai.progress.policy-engine.>',
    ]);
    expect(permissionsFor('cli').subscribe.allow).toEqual(
      expect.arrayContaining(['secai.progress.quarantine.>', 'secai.progress.registry.>']),
    );
    expect(permissionsFor('quarantine').publish.allow).toContain('secai.progress.quarantine.>');
    expect(permissionsFor('quarantine').publish.allow).not.toContain('secai.progress.registry.>');
  });

  it('allows the seal command only to its listed callers', () => {
    expect(permissionsFor('cli').publish.allow).toContain('secai.cmd.incident-recorder.seal');
    expect(permissionsFor('quarantine').publish.allow).not.toContain(
      'secai.cmd.incident-recorder.seal',
    );
  });

  it('makes the dashboard read-only (the details: dashboardPermissions.unit.spec.ts)', () => {
    const dashboard = permissionsFor('dashboard');
    expect(dashboard.subscribe.allow).toEqual(['secai.evt.>', '_INBOX_dashboard.>']);
    expect(dashboard.publish.allow?.some((s) => s.startsWith('secai.'))).toBe(false);
    expect(dashboard.allow_responses).toBeUndefined();
  });

  it('has no permissions for an unknown identity (fail closed)', () => {
    expect(() => permissionsFor('intruder')).toThrow();
  });
});

describe('generated server config', () => {
  it('asks for fsync on every write only from servers that know sync_interval (2.9 refuses it)', () => {
    const render = (serverVersion: [number, number, number]) =>
      JSON.parse(renderServerConfig({ port: 4280, storeDir: '/s', users: [], serverVersion })) as {
        jetstream: Record<string, unknown>;
      };
    expect(render([2, 9, 10]).jetstream.sync_interval).toBeUndefined();
    expect(render([2, 10, 0]).jetstream.sync_interval).toBe('always');
    expect(render([2, 11, 17]).jetstream.sync_interval).toBe('always');
  });

  it('listens on loopback with JetStream in the given store and one nkey user per identity', () => {
    const config = JSON.parse(
      renderServerConfig({
        port: 0,
        storeDir: '/var/lib/secai/nats/jetstream',
        users: [{ name: 'registry', publicKey: 'UABC', seed: new Uint8Array() }],
      }),
    ) as {
      host: string;
      port: number;
      jetstream: { store_dir: string };
      authorization: { users: { nkey: string }[] };
    };
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(-1);
    expect(config.jetstream.store_dir).toBe('/var/lib/secai/nats/jetstream');
    expect(config.authorization.users).toEqual([expect.objectContaining({ nkey: 'UABC' })]);
  });
});
