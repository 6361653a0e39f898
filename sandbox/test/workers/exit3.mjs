// Exits with a non-zero code of its own.
process.exit(3);
