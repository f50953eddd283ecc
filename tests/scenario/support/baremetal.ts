// The real `baremetal` CLI (Debian's python3-ironicclient) pointed at a running ironlog with
// http_basic: `--os-auth-type http_basic --os-endpoint URL --os-username U --os-password P`.
// `run()` spawns /usr/bin/baremetal itself; `batch()` keeps one interpreter that calls
// ironicclient.shell.main(argv) -- what /usr/bin/baremetal runs -- per command (baremetal_batch.py),
// so that a scenario of ~50 commands does not spend a minute starting Python.

import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const python = '/usr/bin/python3';
export const baremetalBinary = '/usr/bin/baremetal';
const batchScript = fileURLToPath(new URL('./baremetal_batch.py', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An environment with no OS_* variables or clouds.yaml lookups leaking in from the machine. */
export const cleanEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OS_') && !k.startsWith('PYTHON')) env[k] = v;
  // python-openstackclient reads clouds.yaml from the cwd and ~/.config: point HOME somewhere empty
  env.HOME = '/nonexistent-ironlog-home';
  env.LC_ALL = 'C.UTF-8';
  return env;
};

export class Baremetal {
  private proc: ChildProcessWithoutNullStreams | undefined;
  private buffer = '';
  private waiting: Array<(r: CliResult) => void> = [];
  /** every command run, for a failing test's message */
  readonly transcript: string[] = [];

  constructor(readonly endpoint: string, readonly username: string, readonly password: string) {}

  get authArgs(): string[] {
    return ['--os-auth-type', 'http_basic', '--os-endpoint', this.endpoint, '--os-username', this.username, '--os-password', this.password];
  }

  /** /usr/bin/baremetal as its own process */
  run(args: string[], timeoutMs = 60_000): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(baremetalBinary, [...this.authArgs, ...args], { env: cleanEnv(), timeout: timeoutMs, cwd: '/' }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        this.transcript.push(`$ baremetal ${args.join(' ')}  -> ${code}`);
        resolve({ code, stdout, stderr });
      });
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    const proc = spawn(python, [batchScript], { env: cleanEnv(), cwd: '/' });
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.waiting.shift()?.(JSON.parse(line) as CliResult);
      }
    });
    let err = '';
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w({ code: 98, stdout: '', stderr: `the batch runner exited (${code}): ${err}` });
      this.proc = undefined;
    });
    this.proc = proc;
    return proc;
  }

  /** `baremetal <args>` through the batch runner (commands run one at a time, in order) */
  async cli(...args: string[]): Promise<CliResult> {
    const proc = this.proc ?? this.start();
    const r = await new Promise<CliResult>((resolve) => {
      this.waiting.push(resolve);
      proc.stdin.write(JSON.stringify({ argv: [...this.authArgs, ...args] }) + '\n');
    });
    this.transcript.push(`$ baremetal ${args.join(' ')}  -> ${r.code}${r.code !== 0 ? `\n  ${r.stderr.trim() || r.stdout.trim()}` : ''}`);
    return r;
  }

  /** runs a command that must succeed */
  async ok(...args: string[]): Promise<string> {
    const r = await this.cli(...args);
    if (r.code !== 0) throw new Error(`baremetal ${args.join(' ')} exited with ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** runs a command with `-f json` that must succeed, and parses its output */
  async json<T = any>(...args: string[]): Promise<T> {
    const out = await this.ok(...args, '-f', 'json');
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new Error(`baremetal ${args.join(' ')}: not JSON:\n${out}`);
    }
  }

  async close(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.stdin.end();
    await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
    proc.kill('SIGKILL');
  }
}
