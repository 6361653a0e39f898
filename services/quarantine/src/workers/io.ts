// What every stage worker does with its pipes: one JSON request on stdin, one JSON verdict on
// stdout (runStage parses exactly one value and keeps only flat facts).

export interface WorkerRequest<P> {
  path: string;
  kind: 'file' | 'directory';
  params: P;
}

export async function readRequest<P>(): Promise<WorkerRequest<P>> {
  let raw = '';
  for await (const chunk of process.stdin) raw += String(chunk);
  return JSON.parse(raw) as WorkerRequest<P>;
}

export function printVerdict(verdict: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(verdict));
}
