// A tiny domain for testing the projection machinery on its own: a "node" that is created,
// renamed and deleted, and whose state counts the events folded into it (so a test can prove no
// event is applied twice).

import { randomUUID } from 'node:crypto';
import type { EventData, RecordedEvent } from '../../eventstore/port.ts';
import { docsModel, type DocsSpec } from '../../projections/docs.ts';
import type { ProjectionDomain } from '../../projections/domain-port.ts';
import { historyModel, type NodeHistoryRecord } from '../../projections/history.ts';
import type { ProjectionModel } from '../../projections/model.ts';

export interface FakeNode {
  uuid: string | null;
  name: string | null;
  applied: number;
  seen: string[];
  deleted: boolean;
}

type FakeEvent =
  | { type: 'FakeCreated'; data: { uuid: string; name: string } }
  | { type: 'FakeRenamed'; data: { name: string } }
  | { type: 'FakeFailed'; data: { message: string } }
  | { type: 'FakeDeleted'; data: Record<string, never> };

const initialState = (): FakeNode => ({ uuid: null, name: null, applied: 0, seen: [], deleted: false });

const evolve = (s: FakeNode, e: FakeEvent): FakeNode => {
  const base = { ...s, applied: s.applied + 1, seen: [...s.seen, e.type] };
  switch (e.type) {
    case 'FakeCreated':
      return { ...base, uuid: e.data.uuid, name: e.data.name };
    case 'FakeRenamed':
      return { ...base, name: e.data.name };
    case 'FakeFailed':
      return base;
    case 'FakeDeleted':
      return { ...base, deleted: true };
  }
};

const decode = (rec: RecordedEvent): { ok: true; event: unknown } | { ok: false; reason: string } => {
  const d = rec.data as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null) return { ok: false, reason: 'data is not an object' };
  switch (rec.type) {
    case 'FakeCreated':
      return typeof d.uuid === 'string' && typeof d.name === 'string' ? { ok: true, event: { type: rec.type, data: d } } : { ok: false, reason: 'bad FakeCreated' };
    case 'FakeRenamed':
      return typeof d.name === 'string' ? { ok: true, event: { type: rec.type, data: d } } : { ok: false, reason: 'bad FakeRenamed' };
    case 'FakeFailed':
      return typeof d.message === 'string' ? { ok: true, event: { type: rec.type, data: d } } : { ok: false, reason: 'bad FakeFailed' };
    case 'FakeDeleted':
      return { ok: true, event: { type: rec.type, data: {} } };
    default:
      return { ok: false, reason: `unknown event type "${rec.type}"` };
  }
};

export let evolveCalls = 0;

export const fakeDomain: ProjectionDomain = {
  decode,
  foldFor: (kind) =>
    kind === 'node'
      ? {
          initialState,
          evolve: (s, e) => {
            evolveCalls++;
            return evolve(s as FakeNode, e as FakeEvent);
          },
        }
      : undefined,
};

export const fakeNodesSpec: DocsSpec<FakeNode> = {
  name: 'fake_nodes',
  kind: 'node',
  table: 'fake_nodes',
  columns: [{ name: 'name', type: 'TEXT', get: (s) => s.name, index: true }],
  exists: (s) => s.uuid !== null && !s.deleted,
};

export const fakeModels = (): ProjectionModel[] => [
  docsModel(fakeNodesSpec),
  historyModel({
    nameOf: (s) => (s as FakeNode).name,
    recordsOf: (c): NodeHistoryRecord[] => {
      const e = c.event as FakeEvent;
      return e.type === 'FakeFailed'
        ? [{ uuid: c.rec.id, created_at: c.meta.timestamp, severity: 'ERROR', event: e.data.message, event_type: 'provisioning', conductor: null, user: c.meta.actor }]
        : [];
    },
  }),
];

let n = 0;
export const fakeEvent = (type: string, data: unknown, actor = 'alice'): EventData => ({
  id: randomUUID(),
  type,
  data,
  metadata: {
    correlationId: `corr-${++n}`,
    causationId: `cause-${n}`,
    actor,
    timestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, n)).toISOString(),
  },
});
