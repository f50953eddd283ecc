// `ironlog <command> [args]`: a table of subcommands, each a module loaded only when it runs and
// exporting `run(args): Promise<number>` (the exit code). Add a command by adding a row.

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface CliCommand {
  run: (args: string[]) => Promise<number>;
}

export const commands: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  projections: { summary: 'projections rebuild [--verify]   rebuild every read model from the log', load: () => import('./projections.ts') },
  start: { summary: 'start                             the whole service: API, conductors, event publisher', load: () => import('./start.ts') },
  api: { summary: 'api [--dev]                       the Ironic v1 REST API (with the projector)', load: () => import('./api.ts') },
  conductor: { summary: 'conductor [--host NAME] [--group G]  run one conductor', load: () => import('./conductor.ts') },
  agent: { summary: 'agent --api-url URL --macs MAC[,MAC]  an IPA-like ramdisk agent (ramdisk-agent/)', load: () => import('../ramdisk-agent/main.ts') },
  history: { summary: 'history <node uuid or name>       print a node\'s event timeline', load: () => import('./history.ts') },
};

const usage = (): string =>
  ['usage: ironlog <command> [args]', '', 'commands:', ...Object.values(commands).map((c) => `  ${c.summary}`)].join('\n') + '\n';

export const main = async (argv: string[]): Promise<number> => {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`ironlog: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(args);
};

// run when started as `node --import tsx cli/main.ts …` (bin/ironlog.js imports it and calls main)
const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;

if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`ironlog: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
