#!/usr/bin/env node
// The `vla-ad` command. It runs the TypeScript sources through tsx, so a checkout needs no build step
// for the CLI, the web server or the job workers (only the renderer is built, by `npm run build`).
import { register } from 'tsx/esm/api';

register();
await import('../electron/cli/main.ts');
