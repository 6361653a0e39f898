import autocannon from 'autocannon';

// A separate process that drives one HTTP endpoint with autocannon and prints its result as JSON,
// so the load generator does not share the event loop of the server it measures.
interface Job {
  url: string;
  body?: string;
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /**
   * Every request a body of its own: `params.path` of the JSON body gets a counter appended, so
   * no cache keyed by the request (the engine's verdict memo) answers a request it has seen before.
   */
  distinctPaths?: boolean;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
let counter = 0;
const distinctBody = (): string => {
  const base = JSON.parse(job.body!) as { params?: { path?: string } };
  const path = base.params?.path ?? '/p';
  return JSON.stringify({ ...base, params: { ...base.params, path: `${path}.${counter++}` } });
};
const result = await autocannon({
  url: job.url,
  method: job.body === undefined ? 'GET' : 'POST',
  headers: job.headers,
  ...(job.body === undefined ? {} : { body: job.body }),
  ...(job.distinctPaths && job.body !== undefined
    ? { requests: [{ setupRequest: (req) => ({ ...req, body: distinctBody() }) }] }
    : {}),
  connections: job.connections,
  duration: job.durationSeconds,
});
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  }),
);
