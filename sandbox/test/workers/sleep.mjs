// Never finishes without burning CPU.
setInterval(() => undefined, 1000);
