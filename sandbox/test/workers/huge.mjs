// Floods stdout.
const line = 'x'.repeat(64 * 1024);
for (;;) {
  if (!process.stdout.write(line)) await new Promise((r) => process.stdout.once('drain', r));
}
