// The live read-model file's WAL is checkpointed by a worker thread (ReadModelDb.noteCommit), not
// in the projector's committing flush: the file's WAL is copied back as commits add up, and a
// connection that only reads starts no worker.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acquireCheckpointer } from '../../eventstore/sqlite-checkpointer.ts';
import { readModels } from '../../projections/index.ts';
import { ReadModelDb } from '../../projections/store.ts';
import { removeTempDirs, tempDir } from './support.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test.after(removeTempDirs);

test("the read models' checkpoint: 'start' until every model has one, then the lowest; one write moves them all", () => {
  const dir = tempDir();
  const models = readModels();
  const db = ReadModelDb.open(join(dir, 'readmodels.sqlite'), models);
  try {
    assert.is(db.checkpoint(), 'start');
    const insert = db.db.prepare('INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position');
    // every model but one, and a row of a model this file no longer has (ignored)
    for (const m of models.slice(1)) insert.run(m.name, 10n);
    insert.run('a-model-since-removed', 1n);
    assert.is(db.checkpoint(), 'start', 'a model without a checkpoint has seen nothing');
    insert.run(models[0]!.name, 7n);
    assert.is(db.checkpoint(), 7n, 'the lowest of them');
    db.db.transaction(() => db.writeCheckpoint(12n))();
    assert.is(db.checkpoint(), 12n);
    for (const [name, p] of db.checkpoints()) assert.is(p, 12n, name);
    // a subset of the models moves only theirs
    db.db.transaction(() => db.writeCheckpoint(20n, models.slice(0, 1)))();
    assert.is(db.checkpoints().get(models[0]!.name), 20n);
    assert.is(db.checkpoint(), 12n);
  } finally {
    db.close();
  }
});

test('commits noted by the projector get the WAL checkpointed in a worker; reads alone start none', async () => {
  const dir = tempDir();
  const file = join(dir, 'readmodels.sqlite');
  const db = ReadModelDb.open(file, readModels());
  // a probe on the same file shares the worker's state (one per file per process)
  const probe = acquireCheckpointer(file, 'NORMAL');
  try {
    db.checkpoints();
    await sleep(200);
    assert.is(probe.checkpoints, 0, 'reads start no checkpoint');
    assert.is(probe.running, false);

    const insert = db.db.prepare('INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position');
    for (let i = 0; i < 200; i++) db.db.transaction(() => insert.run(`m${i}`, i))();
    const walBefore = statSync(`${file}-wal`).size;
    assert.ok(walBefore > 0, 'the commits are in the WAL');
    db.noteCommit(10); // far below the threshold: nothing yet
    await sleep(200);
    assert.is(probe.checkpoints, 0);
    db.noteCommit(5_000);
    const until = Date.now() + 10_000;
    while (probe.checkpoints === 0 && Date.now() < until) await sleep(20);
    assert.ok(probe.checkpoints >= 1, 'a checkpoint ran in the worker');
  } finally {
    db.close();
    await probe.release();
  }
});

test.run();
