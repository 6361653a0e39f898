// Prints the closing line CI reads: "tests: N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

const path = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch {
  console.log('tests: 0 passed, 1 failed (no test report was written)');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const brokenFiles = (report.testResults ?? []).filter(
  (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
).length;
console.log(`tests: ${passed} passed, ${failed + brokenFiles} failed, ${skipped} skipped`);
process.exit(failed + brokenFiles > 0 || passed === 0 ? 1 : 0);
