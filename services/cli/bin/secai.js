#!/usr/bin/env node
// Committed shim so npm can link the `secai` bin before the first build; the CLI lives in dist/.
import '../dist/main.js';
