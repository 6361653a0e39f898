// Reads the artifact at input.path; reports its text or the error code.
import { readFileSync } from 'node:fs';
let data = '';
for await (const chunk of process.stdin) data += chunk;
const { path } = JSON.parse(data);
try {
  process.stdout.write(JSON.stringify({ text: readFileSync(path, 'utf8') }));
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.code ?? 'error' }));
}
