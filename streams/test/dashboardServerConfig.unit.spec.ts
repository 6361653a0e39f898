import { describe, expect, it } from 'vitest';
import { renderServerConfig, uiOrigins, type NatsUser } from '../src/index.js';

const user = (name: string): NatsUser => ({
  name,
  publicKey: `U${name.toUpperCase()}`,
  seed: new Uint8Array(),
});

interface Rendered {
  websocket?: Record<string, unknown>;
  authorization: { users: { nkey: string; allowed_connection_types: string[] }[] };
  accounts?: { SYS: { users: { allowed_connection_types: string[] }[] } };
}

const render = (extra: object = {}) =>
  JSON.parse(
    renderServerConfig({
      port: 4280,
      storeDir: '/s',
      users: [user('dashboard'), user('registry'), user('appliance')],
      systemUser: user('system'),
      ...extra,
    }),
  ) as Rendered;

describe('generated server config: the websocket listener', () => {
  it('has none unless asked for', () => {
    expect(render().websocket).toBeUndefined();
  });

  it('listens on 127.0.0.1, plain ws, for the given origins; 0 lets the server pick the port', () => {
    expect(render({ websocket: { port: 0, allowedOrigins: uiOrigins(8480) } }).websocket).toEqual({
      host: '127.0.0.1',
      port: -1,
      no_tls: true,
      allowed_origins: ['http://127.0.0.1:8480', 'http://localhost:8480'],
    });
    expect(render({ websocket: { port: 5281, allowedOrigins: [] } }).websocket?.port).toBe(5281);
  });

  it('lets only the dashboard in over websocket (services and the system user: TCP only)', () => {
    const config = render({ websocket: { port: 0, allowedOrigins: [] } });
    const types = Object.fromEntries(
      config.authorization.users.map((u) => [u.nkey, u.allowed_connection_types]),
    );
    expect(types).toEqual({
      UDASHBOARD: ['STANDARD', 'WEBSOCKET'],
      UREGISTRY: ['STANDARD'],
      UAPPLIANCE: ['STANDARD'],
    });
    expect(config.accounts?.SYS.users[0]?.allowed_connection_types).toEqual(['STANDARD']);
  });

  it('gives the UI origins for a port (the offset is the caller’s)', () => {
    expect(uiOrigins(9480)).toEqual(['http://127.0.0.1:9480', 'http://localhost:9480']);
  });
});
