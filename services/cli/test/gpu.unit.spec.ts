import { describe, expect, it } from 'vitest';
import type {
  BaselineResponse,
  CheckResponse,
  StatusResponse,
} from '@secai/gpu-integrity-watch/api';
import { CliError } from '../src/errors.js';
import {
  baselineRequest,
  gpuBaselineLines,
  gpuCheckLines,
  gpuStatusLines,
} from '../src/commands/gpu.js';
import { GPU_WATCH, gatewayUrl } from '../src/commands/gateway.js';

// The pure parts of `secai gpu`: the ceremony's request held to the watch's contract, and how
// its status, a check and a baseline read for a person. The answers are shaped by the watch's
// api.ts types, so a change of contract breaks this file's type check.

const MODEL = `sha256:${'a'.repeat(64)}`;

function refused(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('no error was thrown');
}

describe('the baseline ceremony request', () => {
  it('names the person and the reason', () => {
    expect(baselineRequest('ada', 'driver upgrade to 550')).toEqual({
      operator: 'ada',
      reason: 'driver upgrade to 550',
    });
  });

  it('is refused by the option typed when either is empty, too long or has control characters', () => {
    expect(refused(() => baselineRequest('', 'x')).message).toContain('--operator');
    expect(refused(() => baselineRequest('ada', '')).message).toContain('--reason');
    expect(refused(() => baselineRequest('ada', 'r'.repeat(513))).message).toContain('--reason');
    expect(refused(() => baselineRequest('ada\u001b[2J', 'x')).message).toContain('--operator');
    expect(refused(() => baselineRequest('  ', 'x')).code).toBe('USAGE');
  });
});

describe('the GPU watch address', () => {
  it('is the booted port, else the documented 8495', () => {
    const saved = process.env.SECAI_GPU_WATCH_URL;
    delete process.env.SECAI_GPU_WATCH_URL;
    try {
      expect(gatewayUrl(GPU_WATCH)).toBe('http://127.0.0.1:8495');
      expect(gatewayUrl(GPU_WATCH, undefined, 28495)).toBe('http://127.0.0.1:28495');
    } finally {
      if (saved !== undefined) process.env.SECAI_GPU_WATCH_URL = saved;
    }
  });
});

const probes: StatusResponse['probes'] = [
  {
    probe: 'tensor_hash',
    status: 'fail',
    score: 1,
    durationMs: 5,
    findings: [
      { description: 'hash mismatch', severity: 'critical' },
      { description: '0 of 1 model files match', severity: 'info' },
    ],
  },
  {
    probe: 'ecc_status',
    status: 'skip',
    score: 0,
    durationMs: 1,
    findings: [{ description: 'nvidia-smi not found', severity: 'info' }],
  },
];

describe('the GPU status for a person', () => {
  const base: StatusResponse = {
    host: 'vm',
    verdict: 'critical',
    composite: 0.357,
    cycle: 4,
    lastCycleAt: '2026-12-07T17:55:48.285Z',
    probes,
    trend: 0.05,
    anomalies: [
      {
        kind: 'model_file_changed',
        model: MODEL,
        failedProbes: ['tensor_hash'],
        severity: 'critical',
        summary: 'hash mismatch',
        reported: true,
      },
    ],
    anomaliesReported: 1,
    baseline: {
      eventId: 'evt-1',
      capturedAt: '2026-12-07T17:55:18.730Z',
      operator: 'ada',
      reason: 'first baseline',
      sentinels: 1,
      tensorHashes: 1,
      host: null,
    },
    policy: {
      active: true,
      digest: `sha256:${'b'.repeat(64)}`,
      problem: null,
      intervalSeconds: 300,
      disabledProbes: [],
    },
    nextCycleAt: null,
  };

  it('leads with the verdict, then the policy, the baseline, each probe and each anomaly', () => {
    const text = gpuStatusLines(base).join('\n');
    expect(text).toContain(
      'host vm: CRITICAL (anomaly score 0.357), cycle 4 at 2026-12-07T17:55:48.285Z, trend +0.050',
    );
    expect(text).toContain(`policy sha256:${'b'.repeat(64)}, a cycle every 300 s`);
    expect(text).toContain(
      'baseline evt-1 captured 2026-12-07T17:55:18.730Z by ada: first baseline; 1 sentinel, 1 tensor hash',
    );
    expect(text).toMatch(/tensor_hash\s+FAIL\s+1\.000\s+5\s+critical: hash mismatch \(\+1 more\)/);
    expect(text).toMatch(/ecc_status\s+SKIP\s+0\.000\s+1\s+info: nvidia-smi not found/);
    expect(text).toContain('anomalies: 1 (1 reported)');
    expect(text).toMatch(
      /model_file_changed\s+critical\s+sha256:aaaaaaaaaaaaaaaa\s+tensor_hash\s+yes\s+hash mismatch/,
    );
  });

  it('says when no policy lets cycles run, and how a baseline is recorded when there is none', () => {
    const text = gpuStatusLines({
      ...base,
      verdict: 'unknown',
      composite: null,
      cycle: 0,
      lastCycleAt: null,
      probes: [],
      anomalies: [],
      anomaliesReported: 0,
      baseline: null,
      policy: {
        active: false,
        digest: null,
        problem: 'no gpu_watch section',
        intervalSeconds: null,
        disabledProbes: [],
      },
    }).join('\n');
    expect(text).toContain('host vm: UNKNOWN (anomaly score -), cycle 0 (none yet)');
    expect(text).toContain('no policy: no cycle runs (no gpu_watch section)');
    expect(text).toContain('secai gpu baseline --operator NAME --reason TEXT');
    expect(text).toContain('anomalies: none');
  });
});

describe('a GPU check for a person', () => {
  it('gives the cycle, its verdict, each probe and each anomaly it reported', () => {
    const check: CheckResponse = {
      cycle: 4,
      trigger: 'request',
      eventId: 'evt-4',
      at: '2026-12-07T17:55:48.285Z',
      verdict: 'critical',
      composite: 0.357,
      probes,
      reported: [
        {
          host: 'vm',
          cycle: 4,
          verdict: 'critical',
          composite: 0.357,
          kind: 'model_file_changed',
          severity: 'critical',
          model: MODEL,
          failedProbes: ['tensor_hash'],
          summary: 'hash mismatch',
        },
      ],
      ongoing: 2,
    };
    const text = gpuCheckLines(check).join('\n');
    expect(text).toContain(
      'cycle 4 (request) at 2026-12-07T17:55:48.285Z: CRITICAL (anomaly score 0.357), recorded as evt-4',
    );
    expect(text).toMatch(/tensor_hash\s+FAIL/);
    expect(text).toContain(
      'critical model_file_changed on sha256:aaaaaaaaaaaaaaaa (tensor_hash): hash mismatch',
    );
    expect(text).toContain('ongoing anomalies already reported: 2');
  });
});

describe('a recorded baseline for a person', () => {
  it('names the event, who, the sentinels taken and the models that had none', () => {
    const baseline: BaselineResponse = {
      eventId: 'evt-b',
      capturedAt: '2026-12-07T17:55:33.877Z',
      operator: 'ada',
      tensorHashes: 2,
      sentinels: [{ model: MODEL, tokens: 16 }],
      notLoaded: [`sha256:${'c'.repeat(64)}`],
      skipped: [{ model: `sha256:${'d'.repeat(64)}`, reason: 'inference did not answer' }],
      driver: { version: '550.54', module: 'nvidia', moduleDigest: null },
      devices: ['/dev/nvidia0'],
    };
    const text = gpuBaselineLines(baseline).join('\n');
    expect(text).toContain(
      'baseline recorded as evt-b at 2026-12-07T17:55:33.877Z by ada: 2 tensor hashes, sentinels of 1 loaded model',
    );
    expect(text).toContain('sentinel sha256:aaaaaaaaaaaaaaaa: 16 tokens');
    expect(text).toContain(
      'not loaded, no sentinel yet (captured at first load): sha256:cccccccccccccccc',
    );
    expect(text).toContain('skipped sha256:dddddddddddddddd: inference did not answer');
    expect(text).toContain('driver nvidia 550.54; devices /dev/nvidia0');
  });
});
