// `npm run bench -- <name>` runs bench/<name>.ts. Figures go to stdout as `name: value`, progress
// to stderr (../shared/conventions.md).

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = (): string[] =>
  readdirSync(here)
    .filter((f) => f.endsWith('.ts') && f !== 'main.ts')
    .map((f) => f.slice(0, -3))
    .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || !/^[a-z0-9][a-z0-9_-]*$/i.test(name) || !existsSync(join(here, `${name}.ts`))) {
  process.stderr.write(`usage: npm run bench -- <name>\nbenchmarks: ${available().join(', ')}\n`);
  process.exit(2);
}
process.argv = [process.argv[0]!, join(here, `${name}.ts`), ...rest];
await import(pathToFileURL(join(here, `${name}.ts`)).href);
