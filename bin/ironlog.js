#!/usr/bin/env node
// The `ironlog` package bin: loads tsx's ESM hooks (resolved from this package, so it works from
// any cwd and through npm's bin symlinks) and runs cli/main.ts in this same process.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const root = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..');
const { main } = await import(pathToFileURL(join(root, 'cli', 'main.ts')).href);
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`ironlog: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
