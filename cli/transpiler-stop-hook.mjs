// Loaded by cli/transpiler.ts with module.register: runs in Node's module-hooks thread, where
// tsx's ESM loader keeps its own esbuild service child, and stops that child (esbuild starts a new
// one by itself if a module ever needs transpiling again). Plain JavaScript: hook modules load
// before anything could transpile them.
import { createRequire } from 'node:module';

export async function initialize(data) {
  try {
    await createRequire(data.from)('esbuild').stop();
  } catch {
    // no esbuild here (not running under tsx): nothing to stop
  }
}
