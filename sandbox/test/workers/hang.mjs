// Never finishes: a busy loop.
for (;;) {
  /* spin */
}
