// Every event of the node aggregate: one io-ts codec each, `{type, data}` as stored.
// Secret values (driver_info passwords, agent token, configdrive, rescue password, step args)
// are only ever sealed: the codecs refuse clear ones.

import * as t from 'io-ts';
import { DictC, message, nullable, partial, TimestampC } from '../codecs.ts';
import { PowerStateC, PowerTargetC } from '../power/states.ts';
import { ProvisionEventC, ProvisionStateC, ProvisionVerbC } from '../provision/states.ts';
import { SealedDriverInternalInfoC, SealedSecretC } from '../secrets.ts';
import { InternalFieldsC, NodeC, UpdatableFieldsC, VifC } from './node.ts';
import { StepC, StepKindC } from './steps.ts';

const base = { uuid: t.string, at: TimestampC };
const ev = <T extends string, P extends t.Props, O extends t.Props = {}>(type: T, props: P, optional?: O) =>
  message(type, t.intersection([t.type({ ...base, ...props }), partial((optional ?? {}) as O)]));

export const HistoryEntryC = t.type(
  {
    uuid: t.string,
    severity: t.keyof({ ERROR: null, INFO: null }),
    event: t.string,
    /** provisioning, cleaning, deploying, takeover, introspection, rescue, conductor, transition... */
    event_type: t.string,
    conductor: nullable(t.string),
    user: nullable(t.string),
    created_at: TimestampC,
  },
  'HistoryEntry',
);
export type HistoryEntry = t.TypeOf<typeof HistoryEntryC>;

export const NodeCreated = message('NodeCreated', t.type({ node: NodeC }));
export const NodeUpdated = ev('NodeUpdated', { changes: UpdatableFieldsC });
/** Fields the conductor sets while it works (instance_info, allocation, resolved interfaces...). */
export const NodeInternalUpdated = ev('NodeInternalUpdated', { changes: InternalFieldsC });
export const NodeDeleted = ev('NodeDeleted', {});

/** A user's verb with the arguments the conductor needs to carry it out. */
export const ProvisionActionRequested = ev(
  'ProvisionActionRequested',
  { verb: ProvisionVerbC, event: ProvisionEventC },
  {
    /** a string (gzip+base64 or URL) or a dict sealed as its JSON text */
    configdrive: SealedSecretC,
    clean_steps: t.array(StepC),
    deploy_steps: t.array(StepC),
    rescue_password: SealedSecretC,
    disable_ramdisk: t.boolean,
    user: t.string,
  },
);
/** One row of the transition table applied. `last_error` present = set to it (null clears). */
export const ProvisionStateChanged = ev(
  'ProvisionStateChanged',
  { from: ProvisionStateC, event: ProvisionEventC, to: ProvisionStateC, target: nullable(ProvisionStateC) },
  { last_error: nullable(t.string) },
);
/** abort of a clean step that is not abortable: cleaning stops after the step (clean_step.abort_after). */
export const CleanAbortDeferred = ev('CleanAbortDeferred', {});

export const PowerStateChangeRequested = ev(
  'PowerStateChangeRequested',
  { requested: PowerTargetC, target_power_state: PowerStateC },
  { timeout: t.number },
);
/** The operation finished: power_state set, target cleared. */
export const PowerStateChanged = ev('PowerStateChanged', { power_state: nullable(PowerStateC) });
/** The operation failed: last_error set, target cleared. */
export const PowerStateChangeFailed = ev('PowerStateChangeFailed', { error: t.string });
/** The periodic power sync read the BMC (no pending operation is touched). */
export const PowerStateObserved = ev('PowerStateObserved', { power_state: nullable(PowerStateC) });

export const MaintenanceSet = ev('MaintenanceSet', { reason: nullable(t.string) }, { fault: nullable(t.string) });
export const MaintenanceCleared = ev('MaintenanceCleared', {});

export const NodeReserved = ev('NodeReserved', { host: t.string, ring_epoch: t.number });
export const NodeReleased = ev('NodeReleased', { host: t.string }, { forced: t.boolean });

export const TraitsSet = ev('TraitsSet', { traits: t.array(t.string) });
export const TraitAdded = ev('TraitAdded', { trait: t.string });
export const TraitRemoved = ev('TraitRemoved', { trait: t.string });

export const VifAttached = ev('VifAttached', { vif: VifC });
export const VifDetached = ev('VifDetached', { vif_id: t.string });

export const ConsoleSet = ev('ConsoleSet', { enabled: t.boolean });

export const BootModeC = t.keyof({ uefi: null, bios: null }, 'BootMode');
export const BootModeChangeRequested = ev('BootModeChangeRequested', {}, { boot_mode: BootModeC, secure_boot: t.boolean });
export const BootModeChanged = ev('BootModeChanged', {}, { boot_mode: nullable(t.string), secure_boot: nullable(t.boolean) });

export const TargetRaidConfigSet = ev('TargetRaidConfigSet', { target_raid_config: DictC });

export const DriverInternalInfoUpdated = ev('DriverInternalInfoUpdated', {
  set: SealedDriverInternalInfoC,
  unset: t.array(t.string),
});
export const AgentTokenIssued = ev('AgentTokenIssued', { token: SealedSecretC, pregenerated: t.boolean });
/** Ironic's wipe_token_and_url: token, url and heartbeat bookkeeping go. */
export const AgentTokenCleared = ev('AgentTokenCleared', {});
export const AgentHeartbeatRecorded = ev('AgentHeartbeatRecorded', { agent_url: t.string }, { agent_version: t.string, agent_verify_ca: t.string });

export const StepsPlanned = ev('StepsPlanned', { kind: StepKindC, steps: t.array(StepC) });
export const StepStarted = ev('StepStarted', { kind: StepKindC, step: StepC, index: t.number });
export const StepCompleted = ev('StepCompleted', { kind: StepKindC, step: StepC });

export const NodeHistoryRecorded = ev('NodeHistoryRecorded', { entry: HistoryEntryC });

export const nodeEventCodecs = [
  NodeCreated,
  NodeUpdated,
  NodeInternalUpdated,
  NodeDeleted,
  ProvisionActionRequested,
  ProvisionStateChanged,
  CleanAbortDeferred,
  PowerStateChangeRequested,
  PowerStateChanged,
  PowerStateChangeFailed,
  PowerStateObserved,
  MaintenanceSet,
  MaintenanceCleared,
  NodeReserved,
  NodeReleased,
  TraitsSet,
  TraitAdded,
  TraitRemoved,
  VifAttached,
  VifDetached,
  ConsoleSet,
  BootModeChangeRequested,
  BootModeChanged,
  TargetRaidConfigSet,
  DriverInternalInfoUpdated,
  AgentTokenIssued,
  AgentTokenCleared,
  AgentHeartbeatRecorded,
  StepsPlanned,
  StepStarted,
  StepCompleted,
  NodeHistoryRecorded,
] as const;

export const NodeEventC = t.union([...nodeEventCodecs], 'NodeEvent');
export type NodeEvent = t.TypeOf<typeof NodeEventC>;
export type NodeEventType = NodeEvent['type'];
export const nodeEventTypes: readonly string[] = nodeEventCodecs.map((c) => c.name);
export type NodeEventOf<T extends NodeEventType> = Extract<NodeEvent, { type: T }>;
