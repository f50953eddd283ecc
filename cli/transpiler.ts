// ironlog runs its TypeScript through tsx, which transpiles with esbuild: a separate esbuild
// process (~12 MB resident) per thread that transpiled something (the main thread and the
// module-hooks thread), kept for the whole life of the process. Once every module is loaded
// they are idle memory, so a long-running command (`ironlog start`) stops them after start-up.
// esbuild starts a service again by itself if a module is ever transpiled later (a file that
// tsx's cache does not hold yet), so nothing depends on this beyond the footprint.

import { createRequire, register } from 'node:module';

/** Stops the esbuild services of this process (both threads); never throws. */
export const releaseTranspiler = async (): Promise<void> => {
  let tsxEntry: string;
  try {
    tsxEntry = createRequire(import.meta.url).resolve('tsx');
  } catch {
    return; // not installed: nothing was transpiled by it
  }
  try {
    register(new URL('./transpiler-stop-hook.mjs', import.meta.url), { data: { from: tsxEntry } });
  } catch {
    // hooks unsupported or refused: the hooks thread keeps its service
  }
  try {
    await (createRequire(tsxEntry)('esbuild') as { stop(): Promise<void> }).stop();
  } catch {
    // no esbuild in this thread
  }
};
