// Tries to modify the artifact at input.path; reports what happened.
import { appendFileSync } from 'node:fs';
let data = '';
for await (const chunk of process.stdin) data += chunk;
const { path } = JSON.parse(data);
let written = false;
let error = null;
try {
  appendFileSync(path, 'tampered');
  written = true;
} catch (err) {
  error = err.code ?? 'error';
}
process.stdout.write(JSON.stringify({ written, error }));
