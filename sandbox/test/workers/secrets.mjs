// Reports every environment variable it can see (there must be no secrets).
process.stdout.write(JSON.stringify({ env: process.env }));
