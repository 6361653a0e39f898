import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  envBoolean,
  envEnum,
  envInteger,
  envPath,
  envString,
  gatewayEnv,
  readEnv,
} from '../src/config/index.js';

/** when `fn` runs, then it throws a ConfigError; returns it for the checks. */
function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('readEnv', () => {
  describe('given unset or empty variables', () => {
    it('uses defaults, and undefined where there is none', () => {
      const v = readEnv(
        { SECAI_B: '' },
        {
          SECAI_A: envString({ default: 'a' }),
          SECAI_B: envInteger({ min: 1, max: 9, default: 5 }),
          SECAI_C: envBoolean({ default: true }),
          SECAI_D: envEnum(['x', 'y'], { default: 'y' }),
          SECAI_E: envPath({ default: '/var/lib/secai' }),
          SECAI_F: envString(),
        },
      );
      expect(v).toEqual({
        SECAI_A: 'a',
        SECAI_B: 5,
        SECAI_C: true,
        SECAI_D: 'y',
        SECAI_E: '/var/lib/secai',
        SECAI_F: undefined,
      });
    });

    it('refuses a required one with CONFIG_MISSING naming it', () => {
      const e = refusal(() => readEnv({}, { SECAI_STATE_DIR: envPath({ required: true }) }));
      expect(e.code).toBe('CONFIG_MISSING');
      expect(e.variable).toBe('SECAI_STATE_DIR');
      expect(e.value).toBeUndefined();
      expect(e.message).toMatch(/^SECAI_STATE_DIR is not set/);
    });
  });

  describe('integers', () => {
    const spec = { SECAI_HTTP_PORT: envInteger({ min: 1, max: 65535, default: 8500 }) };
    it('reads a decimal integer in range', () => {
      expect(readEnv({ SECAI_HTTP_PORT: '8080' }, spec).SECAI_HTTP_PORT).toBe(8080);
    });
    it.each(['0', '65536', '-1', '8e3', ' 80', '80.0', '0x50', 'eighty', '99999999999999999999'])(
      'refuses %j, naming the variable and the value',
      (raw) => {
        const e = refusal(() => readEnv({ SECAI_HTTP_PORT: raw }, spec));
        expect(e.code).toBe('CONFIG_INVALID');
        expect(e.variable).toBe('SECAI_HTTP_PORT');
        expect(e.value).toBe(raw);
        expect(e.message).toBe(
          `SECAI_HTTP_PORT must be an integer in 1..65535, got ${JSON.stringify(raw)}`,
        );
      },
    );
    it('takes a sign only when the range allows negatives', () => {
      const signed = { N: envInteger({ min: -5, max: 5, default: 0 }) };
      expect(readEnv({ N: '-3' }, signed).N).toBe(-3);
    });
  });

  describe('booleans', () => {
    it.each([
      ['true', true],
      ['YES', true],
      ['1', true],
      ['on', true],
      ['False', false],
      ['no', false],
      ['0', false],
      ['off', false],
    ])('reads %j as %s', (raw, want) => {
      expect(readEnv({ B: raw }, { B: envBoolean({ default: !want }) }).B).toBe(want);
    });
    it('refuses anything else', () => {
      const e = refusal(() => readEnv({ B: 'maybe' }, { B: envBoolean() }));
      expect(e.message).toBe('B must be a boolean (true/false, 1/0, yes/no, on/off), got "maybe"');
    });
  });

  describe('enums', () => {
    it('reads one of the values, exactly', () => {
      const spec = { SECAI_LOG_LEVEL: envEnum(['info', 'debug'], { default: 'info' }) };
      expect(readEnv({ SECAI_LOG_LEVEL: 'debug' }, spec).SECAI_LOG_LEVEL).toBe('debug');
      const e = refusal(() => readEnv({ SECAI_LOG_LEVEL: 'DEBUG' }, spec));
      expect(e.message).toBe('SECAI_LOG_LEVEL must be one of info, debug, got "DEBUG"');
    });
  });

  describe('strings', () => {
    it('checks the whole value against the pattern and says what is expected', () => {
      const spec = {
        SECAI_TPM_AK_HANDLE: envString({
          default: '0x81010002',
          pattern: /0x81[0-9a-f]{6}/,
          expected: 'a persistent handle 0x81xxxxxx',
        }),
      };
      expect(readEnv({ SECAI_TPM_AK_HANDLE: '0x81000001' }, spec).SECAI_TPM_AK_HANDLE).toBe(
        '0x81000001',
      );
      const e = refusal(() => readEnv({ SECAI_TPM_AK_HANDLE: 'x0x81000001y' }, spec));
      expect(e.message).toBe(
        'SECAI_TPM_AK_HANDLE must be a persistent handle 0x81xxxxxx, got "x0x81000001y"',
      );
    });
    it('refuses control characters and overlong values', () => {
      expect(refusal(() => readEnv({ S: 'a\nb' }, { S: envString() })).code).toBe('CONFIG_INVALID');
      expect(refusal(() => readEnv({ S: 'abcd' }, { S: envString({ maxLength: 3 }) })).code).toBe(
        'CONFIG_INVALID',
      );
    });
  });

  describe('paths', () => {
    it('keeps an absolute path and resolves a relative one', () => {
      const spec = { A: envPath(), R: envPath() };
      expect(readEnv({ A: '/srv/secai', R: 'state' }, spec)).toEqual({
        A: '/srv/secai',
        R: resolve('state'),
      });
    });
    it('refuses control characters', () => {
      const e = refusal(() =>
        readEnv({ SECAI_STATE_DIR: '/a\0b' }, { SECAI_STATE_DIR: envPath() }),
      );
      expect(e.variable).toBe('SECAI_STATE_DIR');
    });
  });

  describe('secrets', () => {
    it.each([
      'SECAI_API_TOKEN',
      'SECAI_SIGNING_KEY',
      'SECAI_VAULT_PASSWORD',
      'NATS_SEED',
      'X_SECRET',
    ])('never echoes the value of %s', (name) => {
      const e = refusal(() =>
        readEnv({ [name]: 'hunter2-value' }, { [name]: envString({ pattern: /[0-9]+/ }) }),
      );
      expect(e.message).toBe(`${name} must be a string matching [0-9]+, got <redacted>`);
      expect(e.value).toBe('<redacted>');
      expect(JSON.stringify({ ...e, message: e.message })).not.toContain('hunter2');
    });
  });
});

describe('gatewayEnv', () => {
  it('defaults to loopback and the service’s documented port', () => {
    expect(readEnv({}, gatewayEnv('registry'))).toEqual({
      SECAI_HTTP_HOST: '127.0.0.1',
      SECAI_HTTP_PORT: 8470,
    });
  });

  it('refuses a port outside 1..65535, naming the variable and the value', () => {
    expect(() => readEnv({ SECAI_HTTP_PORT: '70000' }, gatewayEnv('policy-engine'))).toThrow(
      /SECAI_HTTP_PORT.*70000/,
    );
  });

  it('refuses a service without a documented port', () => {
    expect(() => gatewayEnv('cli')).toThrow(ConfigError);
  });
});
