import { describe, expect, it } from 'vitest';
import { StreamError } from '@secai/streams';
import { PolicyClientError } from '@secai/policy-engine';
import { contractProblems } from '../src/bounds.js';
import { decideFailure } from '../src/commands/policy.js';
import { decisionRequest } from '../src/decideRequest.js';
import { CliError } from '../src/errors.js';
import { commandFailure, gatewayFailure } from '../src/failures.js';
import { checkRange } from '../src/options.js';
import { errnoCause, fsFailureCode, parseRuntimeInfo, stateDirFailure } from '../src/stateDir.js';
import { DecisionRequest } from '@secai/contracts';

// The pure rules behind issue 10 §5 (CLI): which failure is reported as what.

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, open '${path}'`), {
    code,
    path,
    syscall: 'open',
  });
}

function thrown(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('expected a CliError');
}

describe('state dir failures', () => {
  it('tells permission denied, not a directory and other errno apart; absence is not a failure', () => {
    expect(fsFailureCode('ENOENT')).toBeNull();
    expect(fsFailureCode('EACCES')).toBe('STATE_DIR_DENIED');
    expect(fsFailureCode('EPERM')).toBe('STATE_DIR_DENIED');
    expect(fsFailureCode('ENOTDIR')).toBe('STATE_DIR_NOT_DIRECTORY');
    expect(fsFailureCode('EIO')).toBe('STATE_DIR_UNREADABLE');
  });

  it('names the state dir, the path and the cause', () => {
    const err = stateDirFailure('/s', errno('EACCES', '/s/run/runtime.json'));
    expect(err.code).toBe('STATE_DIR_DENIED');
    expect(err.message).toContain('/s');
    expect(err.message).toContain('/s/run/runtime.json');
    expect(err.message).toContain('permission denied');
    const other = stateDirFailure('/s', errno('EIO', '/s/run/runtime.json'));
    expect(other.message).toContain('EIO');
  });

  it('finds the errno under the "not found" a credential loader wraps it in', () => {
    const inner = errno('EACCES', '/s/nats/users/cli.nk');
    const wrapped = new StreamError('CREDENTIALS_MISSING', 'NATS credentials of cli not found', {
      cause: inner,
    });
    expect(errnoCause(wrapped)).toBe(inner);
    expect(errnoCause(new Error('plain'))).toBeNull();
  });

  it('refuses a runtime file that is not JSON or names no bus', () => {
    expect(thrown(() => parseRuntimeInfo('/r.json', '{"natsUrl": ')).code).toBe(
      'RUNTIME_INFO_INVALID',
    );
    expect(thrown(() => parseRuntimeInfo('/r.json', 'null')).code).toBe('RUNTIME_INFO_INVALID');
    expect(thrown(() => parseRuntimeInfo('/r.json', '{"natsUrl": 4}')).message).toContain(
      '/r.json',
    );
    expect(parseRuntimeInfo('/r.json', '{"natsUrl":"nats://127.0.0.1:1"}').natsUrl).toBe(
      'nats://127.0.0.1:1',
    );
  });
});

describe('ranges', () => {
  it('refuses --from after --to naming both, and accepts one-sided and single-point ranges', () => {
    const err = thrown(() => checkRange({ from: 10, to: 5 }));
    expect(err.code).toBe('USAGE');
    expect(err.message).toContain('--from 10');
    expect(err.message).toContain('--to 5');
    expect(() => checkRange({ from: 5, to: 5 })).not.toThrow();
    expect(() => checkRange({ from: 10 })).not.toThrow();
    expect(() => checkRange({ to: 5 })).not.toThrow();
  });
});

describe('policy decide requests', () => {
  it('builds the request the options ask for', () => {
    expect(
      decisionRequest({ domain: 'tool_access', subject: 'fs.read', path: '/a', method: 'GET' }),
    ).toEqual({ domain: 'tool_access', subject: 'fs.read', params: { path: '/a', method: 'GET' } });
  });

  it('names the option and the bound, one line per option', () => {
    const problems = contractProblems(
      DecisionRequest,
      { domain: 'Bad', subject: 'x'.repeat(4097), params: { ceiling: 'c'.repeat(33) } },
      { '/domain': '--domain', '/subject': '--subject', '/params/ceiling': '--ceiling' },
    );
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.startsWith('--subject'))).toContain('4096');
    expect(problems.find((p) => p.startsWith('--ceiling'))).toContain('32');
    // The union's per-branch noise is dropped: what is left says what a domain must look like.
    expect(problems.find((p) => p.startsWith('--domain'))).toContain('pattern');
    expect(problems.find((p) => p.startsWith('--domain'))).not.toContain('constant');
  });

  it('is a usage error at the bound plus one, and fine at the bound', () => {
    expect(
      thrown(() => decisionRequest({ domain: 'egress', subject: 'x'.repeat(4097) })).code,
    ).toBe('USAGE');
    expect(decisionRequest({ domain: 'egress', subject: 'x'.repeat(4096) }).subject).toHaveLength(
      4096,
    );
  });
});

describe('failures of an exchange', () => {
  const absent = new StreamError('COMMAND_TARGET_ABSENT', 'nothing answers');
  const late = new StreamError('COMMAND_TIMEOUT', 'no answer within 10 ms');

  it('says NOT_RUNNING only when nothing answers a command', () => {
    expect((commandFailure(absent, 'x') as CliError).code).toBe('NOT_RUNNING');
    expect((commandFailure(late, 'x') as CliError).code).toBe('TIMEOUT');
    const forged = Object.assign(new Error('registry may not send'), {
      code: 'TYPE_NOT_AUTHORISED',
    });
    expect(commandFailure(forged, 'x')).toBe(forged);
  });

  it('maps the policy client: refused is REFUSED, unavailable is what its cause was', () => {
    const refused = new PolicyClientError('POLICY_REFUSED', 'SCHEMA_INVALID: /subject: too long');
    expect((decideFailure(refused) as CliError).code).toBe('REFUSED');
    expect(
      (
        decideFailure(
          new PolicyClientError('POLICY_UNAVAILABLE', 'deny', { cause: absent }),
        ) as CliError
      ).code,
    ).toBe('NOT_RUNNING');
    const forged = Object.assign(new Error('bad signature'), { code: 'SIGNATURE_INVALID' });
    expect(
      decideFailure(new PolicyClientError('POLICY_UNAVAILABLE', 'deny', { cause: forged })),
    ).toBe(forged);
  });

  it('says NOT_RUNNING for a gateway only when nothing listens', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(gatewayFailure(refused, 'http://h:1', 'r').code).toBe('NOT_RUNNING');
    const timeout = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
    expect(gatewayFailure(timeout, 'http://h:1', 'r').code).toBe('TIMEOUT');
    const redirect = new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
    const err = gatewayFailure(redirect, 'http://h:1', 'r');
    expect(err.code).toBe('GATEWAY_FAILED');
    expect(err.message).toContain('unexpected redirect');
  });
});
