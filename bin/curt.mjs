#!/usr/bin/env node
// The `curt` command. It runs the TypeScript sources through tsx (a runtime dependency): no build step
// between a checkout and `npm start`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
