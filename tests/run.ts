// Runs every tests/**/*.test.ts file in its own process (tests start servers and kill processes,
// so isolation matters), reads uvu's totals from each, and ends with the one line CI reads:
// `N passed, N failed, N skipped`. A file that crashes or exits non-zero without a uvu
// summary counts as one failed test, so nothing can pass by dying quietly.

import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testsDir = join(root, 'tests');
const filter = process.argv.slice(2);
const perFileTimeoutMs = Number(process.env.IRONLOG_TEST_FILE_TIMEOUT_MS ?? 300_000);

const findTests = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'fixtures' || name === 'support' ? [] : findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });

interface FileResult { file: string; total: number; passed: number; skipped: number; failed: number; code: number | null; ms: number; skipNote?: string }

const parseTotals = (out: string): { total: number; passed: number; skipped: number } | undefined => {
  // eslint-disable-next-line no-control-regex
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const total = [...plain.matchAll(/Total:\s+(\d+)/g)].at(-1);
  const passed = [...plain.matchAll(/Passed:\s+(\d+)/g)].at(-1);
  const skipped = [...plain.matchAll(/Skipped:\s+(\d+)/g)].at(-1);
  if (!total || !passed) return undefined;
  return { total: Number(total[1]), passed: Number(passed[1]), skipped: Number(skipped?.[1] ?? 0) };
};

const runFile = (file: string): Promise<FileResult> =>
  new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d: Buffer) => { process.stderr.write(d); });
    const timer = setTimeout(() => {
      process.stderr.write(`\n!! ${relative(root, file)} exceeded ${perFileTimeoutMs} ms: killing it\n`);
      child.kill('SIGKILL');
    }, perFileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const totals = parseTotals(out);
      const ms = Date.now() - started;
      // a suite that needs an outside server says `<name>: SKIPPED (<why>)` and registers no test
      const skipNote = /^.*: SKIPPED \(.*\)$/m.exec(out)?.[0];
      if (!totals) {
        // No summary: a crash, a timeout, or a file that registered no test (e.g. a skipped contract).
        const registeredNone = code === 0 && !/Total:/.test(out);
        resolve({ file, total: registeredNone ? 0 : 1, passed: 0, skipped: 0, failed: registeredNone ? 0 : 1, code, ms, skipNote });
        return;
      }
      let failed = totals.total - totals.passed; // uvu's Total excludes skipped tests
      if (code !== 0 && failed === 0) failed = 1; // exited badly after its tests (e.g. a leaked error)
      resolve({ file, ...totals, failed, code, ms, skipNote });
    });
  });

const files = findTests(testsDir)
  .filter((f) => filter.length === 0 || filter.some((p) => f.includes(p)))
  .sort();
const results: FileResult[] = [];
for (const file of files) {
  process.stdout.write(`\n=== ${relative(root, file)}\n`);
  results.push(await runFile(file));
}

process.stdout.write('\n--- per file ---\n');
for (const r of results) {
  const mark = r.failed > 0 ? 'FAIL' : r.skipNote && r.total === 0 ? 'SKIP' : 'ok  ';
  process.stdout.write(`${mark} ${relative(root, r.file)}  passed ${r.passed}/${r.total}  skipped ${r.skipped}  ${(r.ms / 1000).toFixed(1)}s${r.skipNote ? `  [${r.skipNote}]` : ''}\n`);
}
const notRun = results.filter((r) => r.skipNote && r.total === 0);
if (notRun.length > 0) {
  process.stdout.write(`\nNot run here (counted neither passed nor failed):\n${notRun.map((r) => `  ${r.skipNote}`).join('\n')}\n`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const skipped = results.reduce((n, r) => n + r.skipped, 0);
process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exitCode = failed > 0 || results.length === 0 ? 1 : 0;
