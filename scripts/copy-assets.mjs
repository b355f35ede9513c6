#!/usr/bin/env node
// `tsc` copies no non-TypeScript files; the Lua scripts must sit beside the compiled adapter.
import { cpSync } from 'node:fs';
cpSync('src/storage/redis/lua', 'dist/storage/redis/lua', { recursive: true });
