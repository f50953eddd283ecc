// The publisher's own checkpoint: the last log position JetStream acknowledged, in a small JSON
// file in the data dir (written to a temp file, then renamed, so a crash leaves the old or the new
// one, never half of one). The JetStream stream's last message carries its position too; the
// publisher resumes after the larger of the two, so the file matters when the stream has aged
// its messages out, and the stream matters when the file is behind (a crash between ack and write).

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CHECKPOINT_FILE = 'publisher-checkpoint.json';

export interface PublisherCheckpoint {
  /** last published log position */
  position: bigint;
  /** the JetStream stream it was published to */
  stream: string;
}

export const checkpointPath = (dataDir: string): string => join(dataDir, CHECKPOINT_FILE);

/** undefined when there is no file yet; a malformed file is an error (never silently "start"). */
export const readCheckpoint = (path: string): PublisherCheckpoint | undefined => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const raw = JSON.parse(text) as { position?: unknown; stream?: unknown };
  if (typeof raw.position !== 'string' || !/^\d+$/.test(raw.position) || typeof raw.stream !== 'string') {
    throw new Error(`publisher checkpoint ${path} is malformed: ${text.slice(0, 200)}`);
  }
  return { position: BigInt(raw.position), stream: raw.stream };
};

export const writeCheckpoint = (path: string, cp: PublisherCheckpoint): void => {
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ position: cp.position.toString(), stream: cp.stream, updated_at: new Date().toISOString() }) + '\n');
  renameSync(tmp, path);
};
