// Conductors (§3.7) from the membership log (domain/conductor: ConductorRegistered / Lost / Left
// in the one `membership-ring` stream). The ring itself is folded with the domain's evolve into
// the `membership` document; each event then updates its conductor's row: hostname,
// conductor_group, alive (a live ring member), drivers (hardware types), created_at (first
// registration), updated_at (last membership event). Departed conductors stay listed, alive=false.
// Heartbeats are not events, so `alive` follows ring membership rather than a heartbeat timeout.

import type Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import type { Membership } from '../domain/conductor/membership.ts';
import { domainError, type DomainError } from '../domain/errors.ts';
import { docsModel } from './docs.ts';
import type { Change, ModelWriter, ProjectionModel } from './model.ts';
import { pickFields, queryPage, type Collection, type PageQuery } from './paging.ts';

export const membershipModel = docsModel<Membership>({
  name: 'membership',
  kind: 'membership',
  table: 'membership',
  columns: [{ name: 'epoch', type: 'INTEGER', get: (s) => s.epoch }],
  exists: () => true,
});

export interface ConductorDoc {
  hostname: string;
  conductor_group: string;
  alive: boolean;
  drivers: string[];
  created_at: string;
  updated_at: string | null;
}

const ddl = [
  'CREATE TABLE conductors (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, live INTEGER NOT NULL, doc TEXT NOT NULL, hostname TEXT NOT NULL, conductor_group TEXT NOT NULL, alive INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT)',
];

class ConductorsWriter implements ModelWriter {
  private readonly pending = new Map<string, { seq: bigint; doc: ConductorDoc }>();
  private readonly select: Database.Statement<[string], { seq: bigint; doc: string }>;
  private readonly upsert: Database.Statement<unknown[]>;

  constructor(db: Database.Database) {
    this.select = db.prepare<[string], { seq: bigint; doc: string }>('SELECT seq, doc FROM conductors WHERE id = ?').safeIntegers(true);
    this.upsert = db.prepare(
      'INSERT OR REPLACE INTO conductors (id, seq, live, doc, hostname, conductor_group, alive, created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)',
    );
  }

  onChange(c: Change): void {
    if (c.kind !== 'membership') return;
    const data = (c.event as { data?: { hostname?: unknown } }).data;
    const host = typeof data?.hostname === 'string' ? data.hostname : undefined;
    if (host === undefined) return;
    const after = c.after as Membership;
    const member = after.members[host];
    const gone = after.departed[host];
    const known = member ?? gone;
    if (!known) return;
    let current = this.pending.get(host);
    if (!current) {
      const row = this.select.get(host);
      if (row) current = { seq: row.seq, doc: JSON.parse(row.doc) as ConductorDoc };
    }
    const doc: ConductorDoc = {
      hostname: host,
      conductor_group: known.group,
      alive: member !== undefined,
      drivers: [...known.hardwareTypes],
      created_at: current?.doc.created_at ?? c.meta.timestamp,
      updated_at: current ? c.meta.timestamp : null,
    };
    this.pending.set(host, { seq: current?.seq ?? c.rec.position, doc });
  }

  flush(): void {
    for (const [host, { seq, doc }] of this.pending) {
      this.upsert.run(host, seq, JSON.stringify(doc), host, doc.conductor_group, doc.alive ? 1 : 0, doc.created_at, doc.updated_at);
    }
  }

  committed(): void {
    this.pending.clear();
  }

  reset(): void {
    this.pending.clear();
  }
}

export const conductorsModel: ProjectionModel = {
  name: 'conductors',
  kinds: ['membership'],
  ddl,
  tables: [{ name: 'conductors', key: 'id' }],
  attach: (db) => new ConductorsWriter(db),
};

const sortable = ['hostname', 'conductor_group', 'created_at', 'updated_at'];

export const conductorsCollection: Collection = {
  table: 'conductors',
  sortable,
  unsortable: ['alive', 'drivers'],
  fields: [...sortable, 'alive', 'drivers'],
  markerNotFound: (m) => domainError('ConductorNotFound', `Conductor ${m} could not be found.`),
};

export interface ConductorPage {
  conductors: Record<string, unknown>[];
  nextMarker?: string;
}

/** GET /v1/conductors: the marker is the hostname. */
export const listConductors = (db: Database.Database, q: PageQuery = {}): E.Either<DomainError, ConductorPage> => {
  if (q.sort_key === 'alive' || q.sort_key === 'drivers') {
    return E.left(domainError('InvalidParameterValue', `The sort_key value "${q.sort_key}" is an invalid field for sorting`));
  }
  const docs = queryPage(db, conductorsCollection, { sql: [], params: [] }, q);
  if (E.isLeft(docs)) return docs;
  const items = docs.right.map((d) => JSON.parse(d) as ConductorDoc);
  const page: ConductorPage = {
    conductors: items.map((i) => (q.fields ? pickFields(i as unknown as Record<string, unknown>, q.fields) : (i as unknown as Record<string, unknown>))),
  };
  if (q.limit !== undefined && items.length === q.limit && items.length > 0) page.nextMarker = items[items.length - 1].hostname;
  return E.right(page);
};

export const getConductor = (db: Database.Database, hostname: string): ConductorDoc | undefined => {
  const row = db.prepare<[string], { doc: string }>('SELECT doc FROM conductors WHERE id = ?').get(hostname);
  return row ? (JSON.parse(row.doc) as ConductorDoc) : undefined;
};

/** The ring as last folded (epoch, live members, departures). */
export const currentMembership = (db: Database.Database): Membership | undefined => {
  const row = db.prepare<[], { doc: string }>("SELECT doc FROM membership WHERE id = 'ring'").get();
  return row ? (JSON.parse(row.doc) as Membership) : undefined;
};
