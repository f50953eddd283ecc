// One projector writes a read-model file at a time. The writer holds `<file>.lock` (its pid); a
// lock whose process is gone is stale and taken over. Other processes only read the file (and
// wait for its checkpoint).

import * as fs from 'node:fs';

export class ReadModelsBusy extends Error {
  constructor(
    readonly file: string,
    readonly pid: number,
  ) {
    super(`the read models in ${file} are being written by process ${pid} (stop it first)`);
    this.name = 'ReadModelsBusy';
  }
}

export interface Lease {
  release(): void;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export const leaseHolder = (file: string): number | undefined => {
  try {
    const pid = Number(fs.readFileSync(`${file}.lock`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
};

export const acquireLease = (file: string): Lease => {
  const lock = `${file}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          try {
            if (fs.readFileSync(lock, 'utf8').trim() === String(process.pid)) fs.unlinkSync(lock);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = leaseHolder(file);
      if (holder !== undefined) throw new ReadModelsBusy(file, holder);
      fs.rmSync(lock, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not take the lock ${lock}`);
};
