#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=10 --interrupt-budget=150000
// The `ironlog` package bin: loads tsx's ESM hooks (resolved from this package, so it works from
// any cwd and through npm's bin symlinks) and runs cli/main.ts in this same process.
// The shebang's node options are `npm start`'s (package.json scripts.start): young-generation
// semi-spaces of 2 MB instead of 16, and an old generation that grows by 10% between full GCs
// instead of V8's default factor: an idle `ironlog start` holds ~30 MB less (docs/NOTES.md); and
// an interrupt budget ~2.2x V8's, so a function is optimised after running ~2.2x as long: V8 compiled much
// of what a burst of requests touched once or twice, on the same 2 cores as the requests (a fresh
// process's first 500 creates: ~0.2 ms of compiler-thread CPU each instead of ~0.5, api/README.md).
// `node bin/ironlog.js` runs without them.
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
