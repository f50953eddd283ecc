#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=10 --interrupt-budget=150000 --no-reset-ticks-on-ic-update
// The `ironlog` package bin: loads tsx's ESM hooks (resolved from this package, so it works from
// any cwd and through npm's bin symlinks) and runs cli/main.ts in this same process.
// The shebang's node options are `npm start`'s (package.json scripts.start): young-generation
// semi-spaces of 2 MB instead of 16, and an old generation that grows by 10% between full GCs
// instead of V8's default factor: an idle `ironlog start` holds ~30 MB less (docs/NOTES.md).
// The two JIT flags (V8 11, Node 20): a function is optimised after running ~2.2x as long as V8's
// default, and a new shape seen by one of its property accesses does not start that count over.
// A fresh process's first requests run mostly unoptimised code while V8 compiles on the same 2
// cores; with them, the first 500 creates cost the compiler threads ~0.2 ms each instead of ~0.5
// and the main thread less too (api/README.md "session 5").
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
