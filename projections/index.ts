// Every read model, in the order the projector runs them: the models that own an aggregate kind's
// folded state come first (the others read the states before and after each event).

import { nodeHistoryMaxEntries } from '../config/index.ts';
import type { NodeState } from '../domain/node/evolve.ts';
import type { HistoryEntry } from '../domain/node/events.ts';
import { allocationsModel } from './allocations.ts';
import { chassisModel } from './chassis.ts';
import { conductorsModel, membershipModel } from './conductors.ts';
import { deployTemplatesModel } from './deploy-templates.ts';
import { historyModel, type HistoryBinding, type NodeHistoryRecord } from './history.ts';
import type { ProjectionModel } from './model.ts';
import { nodesModel } from './nodes.ts';
import { portgroupsModel } from './portgroups.ts';
import { portsModel } from './ports.ts';
import { volumeConnectorsModel, volumeTargetsModel } from './volume.ts';

const none: readonly NodeHistoryRecord[] = Object.freeze([]);

/** Ironic's node history comes from the node's NodeHistoryRecorded events. */
export const nodeHistoryBinding: HistoryBinding = {
  nameOf: (s) => {
    const state = s as NodeState;
    return state.status === 'present' ? state.node.name : undefined;
  },
  recordsOf: (c): readonly NodeHistoryRecord[] => {
    if (c.type !== 'NodeHistoryRecorded') return none;
    const e = c.event as { type: string; data: { entry: HistoryEntry } };
    const h = e.data.entry;
    return [{ uuid: h.uuid, created_at: h.created_at, severity: h.severity, event: h.event, event_type: h.event_type, conductor: h.conductor, user: h.user }];
  },
};

/** What configuration decides about the read models (config/ `projections`). */
export interface ReadModelSettings {
  /** Ironic records kept per node in the history model (0: all) */
  nodeHistoryMaxEntries: number;
}

/** The settings where no configuration is loaded (tests, benches): the environment's, as config/ reads it. */
export const defaultReadModelSettings = (): ReadModelSettings => ({ nodeHistoryMaxEntries: nodeHistoryMaxEntries() });

/** Every read model. `settings` comes from the loaded configuration (`config.projections`). */
export const readModels = (settings: ReadModelSettings = defaultReadModelSettings()): ProjectionModel[] => [
  nodesModel,
  portsModel,
  portgroupsModel,
  chassisModel,
  allocationsModel,
  deployTemplatesModel,
  volumeConnectorsModel,
  volumeTargetsModel,
  membershipModel,
  conductorsModel,
  historyModel(nodeHistoryBinding, { maxEntries: settings.nodeHistoryMaxEntries }),
];
