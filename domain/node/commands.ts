// Commands the node aggregate decides on. The API has already validated the HTTP body (schema,
// microversion gates, names, MAC formats) and sealed every secret; the domain checks business
// rules against the node's state. Conductor commands may name their `holder` (the reservation
// they act under): the node fences them if another host or an older ring epoch holds it.

import * as t from 'io-ts';
import { DictC, message, nullable, partial, TimestampC } from '../codecs.ts';
import { PowerStateC, PowerTargetC } from '../power/states.ts';
import { ProvisionEventC, ProvisionVerbC } from '../provision/states.ts';
import { SealedDriverInternalInfoC, SealedSecretC } from '../secrets.ts';
import { BootModeC } from './events.ts';
import { CreateFieldsC, InternalFieldsC, UpdatableFieldsC, VifC } from './node.ts';
import { StepC, StepKindC } from './steps.ts';

export const HolderC = t.type({ host: t.string, ring_epoch: t.number }, 'Holder');
export type Holder = t.TypeOf<typeof HolderC>;

const base = { uuid: t.string, at: TimestampC };
const cmd = <T extends string, P extends t.Props, O extends t.Props = {}>(type: T, props: P, optional?: O) =>
  message(type, t.intersection([t.type({ ...base, ...props }), partial((optional ?? {}) as O)]));

export const CreateNode = cmd(
  'CreateNode',
  { fields: CreateFieldsC },
  /** `available` for API requests below 1.11 */
  { initial_provision_state: t.keyof({ enroll: null, available: null }) },
);
export const UpdateNode = cmd(
  'UpdateNode',
  { changes: UpdatableFieldsC },
  {
    /** minor of the request's 1.x (≥39 refuses updates in `inspecting`); default: latest */
    microversion: t.number,
    holder: HolderC,
  },
);
export const UpdateNodeInternal = cmd('UpdateNodeInternal', { changes: InternalFieldsC }, { holder: HolderC });
export const DeleteNode = cmd('DeleteNode', {}, { allow_deleting_available: t.boolean });

export const RequestProvisionAction = cmd(
  'RequestProvisionAction',
  { verb: ProvisionVerbC },
  {
    configdrive: SealedSecretC,
    clean_steps: t.array(StepC),
    deploy_steps: t.array(StepC),
    rescue_password: SealedSecretC,
    disable_ramdisk: t.boolean,
    user: t.string,
  },
);
/** The conductor fires a state machine event (done, fail, wait, resume, clean after tear down...). */
export const ApplyProvisionEvent = cmd(
  'ApplyProvisionEvent',
  { event: ProvisionEventC },
  { last_error: nullable(t.string), holder: HolderC },
);

export const RequestPowerState = cmd('RequestPowerState', { target: PowerTargetC }, { timeout: t.number });
export const RecordPowerState = cmd('RecordPowerState', { power_state: nullable(PowerStateC) }, { holder: HolderC });
export const FailPowerState = cmd('FailPowerState', { error: t.string }, { holder: HolderC });
export const ObservePowerState = cmd('ObservePowerState', { power_state: nullable(PowerStateC) }, { holder: HolderC });

export const SetMaintenance = cmd('SetMaintenance', {}, { reason: nullable(t.string), fault: nullable(t.string), holder: HolderC });
export const ClearMaintenance = cmd('ClearMaintenance', {}, { holder: HolderC });

export const ReserveNode = cmd('ReserveNode', { host: t.string, ring_epoch: t.number });
export const ReleaseNode = cmd('ReleaseNode', { host: t.string }, { force: t.boolean });

export const SetTraits = cmd('SetTraits', { traits: t.array(t.string) });
export const AddTrait = cmd('AddTrait', { trait: t.string });
export const RemoveTrait = cmd('RemoveTrait', { trait: t.string });

export const AttachVif = cmd('AttachVif', { vif: VifC }, { holder: HolderC });
export const DetachVif = cmd('DetachVif', { vif_id: t.string }, { holder: HolderC });

export const SetConsoleMode = cmd('SetConsoleMode', { enabled: t.boolean }, { holder: HolderC });
export const RequestBootMode = cmd('RequestBootMode', {}, { boot_mode: BootModeC, secure_boot: t.boolean });
export const RecordBootMode = cmd(
  'RecordBootMode',
  {},
  { boot_mode: nullable(t.string), secure_boot: nullable(t.boolean), holder: HolderC },
);
export const SetTargetRaidConfig = cmd('SetTargetRaidConfig', { target_raid_config: DictC });

export const UpdateDriverInternalInfo = cmd(
  'UpdateDriverInternalInfo',
  { set: SealedDriverInternalInfoC, unset: t.array(t.string) },
  { holder: HolderC },
);
export const IssueAgentToken = cmd('IssueAgentToken', { token: SealedSecretC }, { pregenerated: t.boolean, holder: HolderC });
export const ClearAgentToken = cmd('ClearAgentToken', {}, { holder: HolderC });
export const RecordAgentHeartbeat = cmd(
  'RecordAgentHeartbeat',
  { agent_url: t.string },
  { agent_version: t.string, agent_verify_ca: t.string, holder: HolderC },
);

export const PlanSteps = cmd('PlanSteps', { kind: StepKindC, steps: t.array(StepC) }, { holder: HolderC });
export const StartStep = cmd('StartStep', { kind: StepKindC, step: StepC, index: t.number }, { holder: HolderC });
export const CompleteStep = cmd('CompleteStep', { kind: StepKindC }, { holder: HolderC });

export const RecordHistory = cmd(
  'RecordHistory',
  {
    entry: t.type({
      uuid: t.string,
      severity: t.keyof({ ERROR: null, INFO: null }),
      event: t.string,
      event_type: t.string,
      conductor: nullable(t.string),
      user: nullable(t.string),
    }),
  },
);

export const nodeCommandCodecs = [
  CreateNode,
  UpdateNode,
  UpdateNodeInternal,
  DeleteNode,
  RequestProvisionAction,
  ApplyProvisionEvent,
  RequestPowerState,
  RecordPowerState,
  FailPowerState,
  ObservePowerState,
  SetMaintenance,
  ClearMaintenance,
  ReserveNode,
  ReleaseNode,
  SetTraits,
  AddTrait,
  RemoveTrait,
  AttachVif,
  DetachVif,
  SetConsoleMode,
  RequestBootMode,
  RecordBootMode,
  SetTargetRaidConfig,
  UpdateDriverInternalInfo,
  IssueAgentToken,
  ClearAgentToken,
  RecordAgentHeartbeat,
  PlanSteps,
  StartStep,
  CompleteStep,
  RecordHistory,
] as const;

export const NodeCommandC = t.union([...nodeCommandCodecs], 'NodeCommand');
export type NodeCommand = t.TypeOf<typeof NodeCommandC>;
export type NodeCommandType = NodeCommand['type'];
export type NodeCommandOf<T extends NodeCommandType> = Extract<NodeCommand, { type: T }>;
