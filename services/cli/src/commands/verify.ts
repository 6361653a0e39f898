import { verifyBundle, verifyHistory, type HistoryReport } from '@secai/projections';
import { readHistory, streamBounds } from '@secai/streams';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { progress } from '../progress.js';

export interface VerifyOptions {
  signatures?: boolean;
  json?: boolean;
}

/** `secai events verify`: the chain and every seal over the live stream (and every signature). */
export async function verifyStream(
  ctx: CliContext,
  options: VerifyOptions,
  out: (line: string) => void,
): Promise<void> {
  const { lastSeq, messages } = await streamBounds(ctx.jsm, ctx.stream);
  const bar = progress(
    options.signatures ? 'verifying signatures' : 'verifying chain',
    messages,
    options.json,
  );
  const started = process.hrtime.bigint();
  const report = await verifyHistory(
    (async function* () {
      for await (const e of readHistory(ctx.js, ctx.jsm, ctx.stream, { toSeq: lastSeq })) {
        bar.tick();
        // Subject and type header too: verified exactly as the live consumers verify.
        yield { seq: e.seq, bytes: e.bytes, subject: e.subject, ...typeOf(e.type) };
      }
    })(),
    { trust: ctx.trust, signatures: options.signatures ?? false },
  );
  bar.stop();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  printReport(report, { ...options, seconds, source: `stream ${ctx.stream}` }, out);
}

function typeOf(type: string | undefined): { type?: string } {
  return type === undefined ? {} : { type };
}

/** `secai events verify --bundle FILE`: offline, no NATS needed. */
export async function verifyBundleFile(
  path: string,
  options: VerifyOptions & { expectRoot?: string; pinnedRoot?: string },
  out: (line: string) => void,
): Promise<void> {
  const started = process.hrtime.bigint();
  const expected = options.expectRoot ?? options.pinnedRoot;
  const report = await verifyBundle(path, {
    signatures: options.signatures ?? true,
    ...(expected ? { expectedRootKeyid: expected } : {}),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!expected) {
    report.warnings.push(
      `the bundle's root ${report.rootKeyid} was not pinned: pass --expect-root or run where the appliance's state dir is`,
    );
  }
  printReport(report, { ...options, seconds, source: `bundle ${path}` }, out);
}

function printReport(
  report: HistoryReport,
  options: VerifyOptions & { seconds: number; source: string },
  out: (line: string) => void,
): void {
  const rate = options.seconds > 0 ? Math.round(report.checked / options.seconds) : report.checked;
  if (options.json) {
    out(
      JSON.stringify({
        ...report,
        source: options.source,
        seconds: options.seconds,
        eventsPerSecond: rate,
      }),
    );
  } else {
    out(
      `${options.source}: ${report.checked} events (seq ${report.firstSeq}..${report.lastSeq}), ${report.seals} seals, ${options.signatures ? 'chain + signatures' : 'chain only'}, ${rate} events/s`,
    );
    out(`head ${report.head}`);
    for (const w of report.warnings) out(`warning: ${w}`);
    if (report.unsealedTail) {
      out(
        `warning: ${report.unsealedTail.count} events after the last seal (seq ${report.unsealedTail.fromSeq}..${report.unsealedTail.toSeq}) are not covered by a seal`,
      );
    }
    for (const f of report.failures) out(`FAIL seq ${f.seq}: ${f.code}: ${f.message}`);
    out(report.ok ? 'OK: history verified' : `FAILED: ${report.failures.length} problem(s)`);
  }
  if (!report.ok) {
    throw new CliError(
      'VERIFICATION_FAILED',
      `${report.failures.length} verification failure(s); first at seq ${report.failures[0]!.seq}: ${report.failures[0]!.code}`,
    );
  }
}
