// Per-node history, two views of the same log:
//  - Ironic's node-history records (§3.9: uuid, created_at, severity, event, event_type, conductor,
//    user), produced by the domain's events (the binding says which events carry one);
//  - our full event timeline: every event of the node's stream with type, revision, position,
//    actor, correlation id, causation id and time.
// The timeline is stored in chunks (a row holds up to 32 consecutive entries of a node, more when
// small live flushes are appended to it; entries as compact JSON arrays): a million events
// become some 40,000 rows, which keeps rebuilds fast. Node names are kept for every node ever
// seen, so `ironlog history <name>` works after a node is deleted.
// Ironic's records are trimmed to each node's newest `maxEntries` (Ironic's
// `[conductor] node_history_max_entries`); the timeline is never trimmed, nor is the log.

import type Database from 'better-sqlite3';
import { nodeHistoryMaxEntries } from '../config/index.ts';
import { timelineBuilt, type Change, type ChangeMeta, type ModelWriter, type ProjectionModel } from './model.ts';
import type { FedTimeline } from './timeline-bytes.ts';

export interface NodeHistoryRecord {
  uuid: string;
  created_at: string;
  severity: 'ERROR' | 'INFO';
  event: string;
  event_type: string;
  conductor: string | null;
  user: string | null;
}

export interface TimelineEntry {
  type: string;
  revision: bigint;
  position: bigint;
  actor: string;
  correlationId: string;
  causationId: string;
  time: string;
}

/** What the history model needs to know about the domain's node state and events. */
export interface HistoryBinding {
  /** the node's name; undefined when the state has none to tell (a deleted node keeps its last) */
  nameOf: (state: unknown) => string | null | undefined;
  /** the Ironic history records an event adds (none for most events) */
  recordsOf: (change: Change) => readonly NodeHistoryRecord[];
}

const ddl = [
  // rowid table: chunks append at the end of the file; the index finds a node's chunks
  'CREATE TABLE history_timeline (node_uuid TEXT NOT NULL, first_position INTEGER NOT NULL, entries TEXT NOT NULL)',
  'CREATE INDEX history_timeline_node ON history_timeline (node_uuid, first_position)',
  'CREATE TABLE node_history (uuid TEXT PRIMARY KEY, node_uuid TEXT NOT NULL, position INTEGER NOT NULL, created_at TEXT NOT NULL, severity TEXT NOT NULL, event TEXT NOT NULL, event_type TEXT NOT NULL, conductor TEXT, user TEXT)',
  'CREATE INDEX node_history_node ON node_history (node_uuid, position)',
  'CREATE TABLE history_nodes (node_uuid TEXT PRIMARY KEY, name TEXT, last_position INTEGER NOT NULL) WITHOUT ROWID',
  'CREATE INDEX history_nodes_name ON history_nodes (name)',
];

/**
 * A chunk of a node's timeline as stored: consecutive events of its stream, delta-encoded so a
 * million events stay small and cheap to write. `r` is the first entry's revision (entry i has
 * revision r + i); each entry is [position delta, type, actor, correlationId, causationId, time]:
 * the position is relative to the previous entry (the first one's is the row's first_position);
 * type, actor and correlationId are 0 when equal to the previous entry's; causationId is null when
 * equal to the entry's own correlationId and 0 when equal to the previous entry's; time is the
 * metadata's timestamp as it is.
 */
interface StoredChunk {
  r: number;
  e: [number, string | 0, string | 0, string | 0, string | 0 | null, string][];
}

/**
 * A string that holds no reference to a longer one: V8 makes a slice of 13 characters or more a
 * view of the sliced string; flattening a concatenation copies the characters.
 */
const own = (s: string): string => (s.length < 13 ? s : `${s} `.slice(0, -1));

class ChunkBuilder {
  /** entries serialised so far: a JSON array per seal (see seal) */
  private readonly parts: string[] = [];
  /** entries not serialised yet */
  private readonly e: StoredChunk['e'] = [];
  private count = 0;
  private pos: number;
  private type = '';
  private actor = '';
  private corr = '';
  private caus: string | null = null;

  constructor(
    readonly first: bigint,
    readonly revision: number,
  ) {
    this.pos = Number(first);
  }

  push(position: bigint | number, type: string, m: ChangeMeta): void {
    const p = Number(position);
    const dp = p - this.pos;
    this.pos = p;
    const caus = m.causationId === m.correlationId ? null : m.causationId;
    const first = this.count === 0;
    // times are kept as they are: parsing them into deltas costs more than writing them
    this.e.push([
      dp,
      !first && type === this.type ? 0 : type,
      !first && m.actor === this.actor ? 0 : m.actor,
      !first && m.correlationId === this.corr ? 0 : m.correlationId,
      caus !== null && !first && caus === this.caus ? 0 : caus,
      m.timestamp,
    ]);
    this.count++;
    this.type = type;
    this.actor = m.actor;
    this.corr = m.correlationId;
    this.caus = caus;
  }

  /**
   * Serialises the pending entries. A bulk rebuild calls this after every batch: a chunk fills
   * over many batches, and one string per batch outlives the young generation far more cheaply
   * than the entries' arrays and strings would (they would all be promoted, then collected).
   */
  seal(): void {
    if (this.e.length === 0) return;
    this.parts.push(JSON.stringify(this.e));
    this.e.length = 0;
    // the values kept for comparison may be slices of an event's whole metadata text
    // (model.ts scanChangeMeta): copies of them do not keep that text alive while the chunk stays open
    this.actor = own(this.actor);
    this.corr = own(this.corr);
    if (this.caus !== null) this.caus = own(this.caus);
  }

  /**
   * The chunk as stored (a StoredChunk's JSON text), one flat string: Array.prototype.join makes
   * one, where concatenating the parts made a tree of them that every later use flattens (posting
   * the chunks of a batch to the rebuild's worker cost ~2x as much: ~0.25 s per million events).
   */
  json(): string {
    this.seal();
    const inner = this.parts.length === 1 ? this.parts[0].slice(1, -1) : this.parts.map((p) => p.slice(1, -1)).join(',');
    return [`{"r":${this.revision},"e":[`, inner, ']}'].join('');
  }

  get size(): number {
    return this.count;
  }

  /** entries not serialised yet */
  get unsealed(): number {
    return this.e.length;
  }
}

const decodeStored = (firstPosition: bigint, c: StoredChunk, out: TimelineEntry[]): void => {
  let pos = firstPosition;
  let type = '';
  let actor = '';
  let corr = '';
  let caus: string | null = null;
  c.e.forEach(([dp, t, a, co, ca, time], i) => {
    pos += BigInt(dp);
    if (t !== 0) type = t;
    if (a !== 0) actor = a;
    if (co !== 0) corr = co;
    if (ca !== 0) caus = ca;
    out.push({ position: pos, revision: BigInt(c.r + i), type, actor, correlationId: corr, causationId: caus ?? corr, time });
  });
};

const decodeChunk = (firstPosition: bigint, text: string, out: TimelineEntry[]): void => decodeStored(firstPosition, JSON.parse(text) as StoredChunk, out);

/** a chunk is closed (and, in a bulk rebuild, written) once it holds this many entries */
const spillChunk = 32;
/** a flush appends to the node's last chunk while the result stays this small (live flushes are tiny) */
const maxMergedChunk = 64;

/** A closed chunk as a row of history_timeline: node, first position, entries (JSON), entry count. */
export type TimelineRow = [node: string, first: bigint, entries: string, count: number];

/**
 * Nodes' timeline chunks, built from their events in log order: a node's chunk closes at
 * spillChunk entries. The history model builds them from the changes it sees; a fed rebuild
 * builds them in its reading thread (feed.ts) and hands the rows over (HistoryWriter.prebuilt).
 */
export class TimelineChunks {
  private readonly open = new Map<string, ChunkBuilder>();
  private readonly closed: TimelineRow[] = [];
  /** chunks with entries added since the last takeClosed */
  private readonly touched: ChunkBuilder[] = [];

  /** position and revision as bigints or as numbers (a fed rebuild's reading thread: exact below 2^53) */
  push(node: string, position: bigint | number, revision: bigint | number, type: string, meta: ChangeMeta): void {
    let chunk = this.open.get(node);
    if (!chunk) {
      chunk = new ChunkBuilder(BigInt(position), Number(revision));
      this.open.set(node, chunk);
    }
    chunk.push(position, type, meta);
    if (chunk.unsealed === 1) this.touched.push(chunk);
    if (chunk.size >= spillChunk) this.close(node, chunk);
  }

  /** closes the node's chunk: its next entry starts another (entry i of a chunk is revision r + i) */
  cut(node: string): void {
    const chunk = this.open.get(node);
    if (chunk) this.close(node, chunk);
  }

  private close(node: string, chunk: ChunkBuilder): void {
    this.closed.push([node, chunk.first, chunk.json(), chunk.size]);
    this.open.delete(node);
  }

  /** the chunks closed since the last call; what the open ones hold is serialised (ChunkBuilder.seal) */
  takeClosed(): TimelineRow[] {
    for (const chunk of this.touched) chunk.seal();
    this.touched.length = 0;
    return this.closed.splice(0);
  }

  /** every chunk, closed or not; the next entry of any node starts a new chunk */
  takeAll(): TimelineRow[] {
    for (const [node, chunk] of this.open) this.close(node, chunk);
    this.touched.length = 0;
    return this.closed.splice(0);
  }

  clear(): void {
    this.open.clear();
    this.closed.length = 0;
    this.touched.length = 0;
  }
}

class HistoryWriter implements ModelWriter {
  private readonly timeline = new TimelineChunks();
  /** chunks a fed rebuild's reading thread built (see prebuilt) */
  private readonly fed: FedTimeline[] = [];
  private readonly names = new Map<string, { name: string | null; last: bigint }>();
  private readonly records: { node: string; position: bigint; r: NodeHistoryRecord }[] = [];
  private readonly insertChunk: Database.Statement<[string, bigint, string]>;
  /** a chunk's text given as its UTF-8 bytes (a fed rebuild's, FedTimeline) */
  private readonly insertChunkBytes: Database.Statement<[string, bigint, Buffer]>;
  private readonly lastChunk: Database.Statement<[string], { rowid: bigint; first_position: bigint; entries: string }>;
  private readonly updateChunk: Database.Statement<[string, bigint]>;
  private bulk = false;
  private readonly insertRecord: Database.Statement<unknown[]>;
  private readonly upsertName: Database.Statement<[string, string | null, bigint]>;
  private readonly trimNode: Database.Statement<[string, number]>;
  private readonly nodesOverLimit: Database.Statement<[number], { node_uuid: string }>;
  /** nodes given records by this flush: the only ones that can have gone over the limit */
  private readonly recorded = new Set<string>();
  /**
   * until a flush has committed, every node is checked: the file may come from a run with a larger
   * limit (a bulk rebuild checks at its one flush, the records having been spilled as they came)
   */
  private checkAll = true;

  constructor(
    db: Database.Database,
    private readonly binding: HistoryBinding,
    /** newest records kept per node; 0 keeps all */
    private readonly maxEntries: number,
  ) {
    this.insertChunk = db.prepare('INSERT INTO history_timeline (node_uuid, first_position, entries) VALUES (?, ?, ?)');
    this.insertChunkBytes = db.prepare('INSERT INTO history_timeline (node_uuid, first_position, entries) VALUES (?, ?, CAST(? AS TEXT))');
    this.lastChunk = db
      .prepare<[string], { rowid: bigint; first_position: bigint; entries: string }>(
        'SELECT rowid, first_position, entries FROM history_timeline WHERE node_uuid = ? ORDER BY first_position DESC LIMIT 1',
      )
      .safeIntegers(true);
    this.updateChunk = db.prepare('UPDATE history_timeline SET entries = ? WHERE rowid = ?');
    this.insertRecord = db.prepare(
      'INSERT OR REPLACE INTO node_history (uuid, node_uuid, position, created_at, severity, event, event_type, conductor, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.upsertName = db.prepare(
      'INSERT INTO history_nodes (node_uuid, name, last_position) VALUES (?, ?, ?) ON CONFLICT(node_uuid) DO UPDATE SET name = excluded.name, last_position = excluded.last_position',
    );
    // the newest are the last in nodeHistory's order (position, then insertion order); the node
    // index holds (node_uuid, position, rowid), so both statements read only the index
    this.trimNode = db.prepare(
      'DELETE FROM node_history WHERE rowid IN (SELECT rowid FROM node_history WHERE node_uuid = ? ORDER BY position DESC, rowid DESC LIMIT -1 OFFSET ?)',
    );
    this.nodesOverLimit = db.prepare<[number], { node_uuid: string }>('SELECT node_uuid FROM node_history GROUP BY node_uuid HAVING count(*) > ?');
  }

  onChange(c: Change): void {
    if (c.kind !== 'node') return;
    const { rec } = c;
    // a fed rebuild's reading thread has put this entry in a chunk already (prebuilt)
    if ((rec as { [timelineBuilt]?: true })[timelineBuilt] !== true) this.timeline.push(c.id, rec.position, rec.revision, c.type, c.meta);
    const name = this.binding.nameOf(c.after);
    if (name !== undefined && (rec.revision === 0n || name !== this.binding.nameOf(c.before))) this.names.set(c.id, { name, last: rec.position });
    for (const r of this.binding.recordsOf(c)) this.records.push({ node: c.id, position: rec.position, r });
  }

  /** Timeline chunks a fed rebuild's reading thread built from the same events (feed.ts). */
  prebuilt(chunks: unknown): void {
    this.fed.push(chunks as FedTimeline);
  }

  private writeFed(): void {
    for (const { rows, bytes } of this.fed) {
      const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (const [node, first, start, end] of rows) this.insertChunkBytes.run(node, BigInt(first), b.subarray(start, end));
    }
    this.fed.length = 0;
  }

  spill(): void {
    // a bulk rebuild: one transaction, no looking up last chunks; what is only ever added (closed
    // chunks, history records, names) is written as it comes, so little is left for the end
    this.bulk = true;
    for (const [node, first, entries] of this.timeline.takeClosed()) this.insertChunk.run(node, first, entries);
    this.writeFed();
    this.writeNamesAndRecords();
  }

  flush(): void {
    for (const row of this.timeline.takeAll()) this.writeChunk(row);
    this.writeFed();
    this.writeNamesAndRecords();
    this.trim();
  }

  /**
   * Keeps each node's newest maxEntries records, in the flush's transaction. Trimming after every
   * flush and trimming once at the end keep the same records (the newest N of all seen), so the
   * live projector and a rebuild agree (`--verify`).
   */
  private trim(): void {
    if (this.maxEntries > 0) {
      const nodes = this.checkAll ? this.nodesOverLimit.all(this.maxEntries).map((r) => r.node_uuid) : this.recorded;
      for (const node of nodes) this.trimNode.run(node, this.maxEntries);
    }
    this.recorded.clear();
  }

  private writeNamesAndRecords(): void {
    for (const [node, n] of this.names) this.upsertName.run(node, n.name, n.last);
    for (const { node, position, r } of this.records) {
      this.insertRecord.run(r.uuid, node, position, r.created_at, r.severity, r.event, r.event_type, r.conductor, r.user);
      this.recorded.add(node);
    }
    this.names.clear();
    this.records.length = 0;
  }

  /** Appends to the node's last chunk when both are small (a live flush holds an event or two), else adds one. */
  private writeChunk([node, first, text, count]: TimelineRow): void {
    const last = !this.bulk && count < maxMergedChunk ? this.lastChunk.get(node) : undefined;
    if (last) {
      const stored = JSON.parse(last.entries) as StoredChunk;
      if (stored.e.length + count <= maxMergedChunk) {
        const entries: TimelineEntry[] = [];
        decodeStored(last.first_position, stored, entries);
        decodeChunk(first, text, entries);
        const merged = new ChunkBuilder(last.first_position, stored.r);
        for (const e of entries) merged.push(e.position, e.type, { actor: e.actor, correlationId: e.correlationId, causationId: e.causationId, timestamp: e.time });
        this.updateChunk.run(merged.json(), last.rowid);
        return;
      }
    }
    this.insertChunk.run(node, first, text);
  }

  committed(): void {
    this.reset();
    this.checkAll = false;
  }

  reset(): void {
    this.timeline.clear();
    this.fed.length = 0;
    this.names.clear();
    this.records.length = 0;
    this.recorded.clear();
  }
}

/** the history model's name (its checkpoint row; fed rebuilds address its prebuilt output by it) */
export const historyModelName = 'history';

export interface HistoryOptions {
  /**
   * Ironic records kept per node, the newest; 0 keeps all. readModels() passes the loaded
   * configuration's; default: IRONLOG_NODE_HISTORY_MAX_ENTRIES (config/).
   */
  maxEntries?: number;
}

export const historyModel = (binding: HistoryBinding, options: HistoryOptions = {}): ProjectionModel => {
  const maxEntries = options.maxEntries ?? nodeHistoryMaxEntries();
  if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new Error(`history maxEntries must be a non-negative integer, not ${maxEntries}`);
  return {
    name: historyModelName,
    kinds: ['node'],
    ddl,
    tables: [
      // chunk boundaries depend on batch sizes: compare each node's whole timeline
      { name: 'history_timeline', key: 'node_uuid', rows: timelinesByNode },
      { name: 'node_history', key: 'uuid' },
      { name: 'history_nodes', key: 'node_uuid' },
    ],
    attach: (db) => new HistoryWriter(db, binding, maxEntries),
  };
};

/** node uuid → its whole timeline (chunking undone), for `projections rebuild --verify` */
const timelinesByNode = (db: Database.Database): Map<string, Record<string, unknown>> => {
  const out = new Map<string, Record<string, unknown>>();
  const rows = db
    .prepare<[], { node_uuid: string; first_position: bigint; entries: string }>(
      'SELECT node_uuid, first_position, entries FROM history_timeline ORDER BY node_uuid, first_position',
    )
    .safeIntegers(true)
    .all();
  for (const r of rows) {
    let cur = out.get(r.node_uuid);
    if (!cur) {
      cur = { node_uuid: r.node_uuid, entries: [] };
      out.set(r.node_uuid, cur);
    }
    const entries: TimelineEntry[] = [];
    decodeChunk(r.first_position, r.entries, entries);
    (cur.entries as unknown[]).push(...entries.map((e) => ({ ...e, position: String(e.position), revision: String(e.revision) })));
  }
  return out;
};

// ---- reading -----------------------------------------------------------------------------------

const uuidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A node's uuid from its uuid or (current or former) name; a name goes to its latest holder. */
export const resolveHistoryNode = (db: Database.Database, ident: string): string | undefined => {
  if (uuidLike.test(ident)) {
    const row = db.prepare<[string], { node_uuid: string }>('SELECT node_uuid FROM history_nodes WHERE node_uuid = ?').get(ident.toLowerCase());
    if (row) return row.node_uuid;
  }
  return db
    .prepare<[string], { node_uuid: string }>('SELECT node_uuid FROM history_nodes WHERE name = ? ORDER BY last_position DESC LIMIT 1')
    .get(ident)?.node_uuid;
};

export const nodeName = (db: Database.Database, nodeUuid: string): string | null =>
  db.prepare<[string], { name: string | null }>('SELECT name FROM history_nodes WHERE node_uuid = ?').get(nodeUuid)?.name ?? null;

/** The node's whole event timeline, oldest first. */
export const timeline = (db: Database.Database, nodeUuid: string): TimelineEntry[] => {
  const rows = db
    .prepare<[string], { first_position: bigint; entries: string }>('SELECT first_position, entries FROM history_timeline WHERE node_uuid = ? ORDER BY first_position')
    .safeIntegers(true)
    .all(nodeUuid);
  const out: TimelineEntry[] = [];
  for (const row of rows) decodeChunk(row.first_position, row.entries, out);
  return out;
};

export interface HistoryPage {
  records: NodeHistoryRecord[];
  /** the page was full: there may be more after the last record */
  full: boolean;
}

/** Ironic's GET /v1/nodes/{node}/history: oldest first, `marker` = uuid of the last record seen. */
export const nodeHistory = (
  db: Database.Database,
  nodeUuid: string,
  options: { limit?: number; marker?: string } = {},
): HistoryPage | { markerNotFound: string } => {
  let after = -1n;
  if (options.marker !== undefined) {
    const m = db
      .prepare<[string, string], { position: bigint }>('SELECT position FROM node_history WHERE uuid = ? AND node_uuid = ?')
      .safeIntegers(true)
      .get(options.marker, nodeUuid);
    if (!m) return { markerNotFound: options.marker };
    after = m.position;
  }
  const limit = options.limit ?? -1;
  const rows = db
    .prepare<[string, bigint, bigint, string], NodeHistoryRecord>(
      // records of one event share its position; rowid keeps their insertion order
      `SELECT uuid, created_at, severity, event, event_type, conductor, user FROM node_history
       WHERE node_uuid = ? AND (position > ? OR (position = ? AND rowid > (SELECT rowid FROM node_history WHERE uuid = ?)))
       ORDER BY position, rowid LIMIT ${limit < 0 ? -1 : Math.floor(limit)}`,
    )
    .all(nodeUuid, after, after, options.marker ?? '');
  return { records: rows, full: limit > 0 && rows.length === limit };
};

export const historyRecord = (db: Database.Database, nodeUuid: string, uuid: string): NodeHistoryRecord | undefined =>
  db
    .prepare<[string, string], NodeHistoryRecord>(
      'SELECT uuid, created_at, severity, event, event_type, conductor, user FROM node_history WHERE node_uuid = ? AND uuid = ?',
    )
    .get(nodeUuid, uuid);
