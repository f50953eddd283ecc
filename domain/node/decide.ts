// Business rules of the node (reference §2.2, §3.2, §4, §6.6). Pure: the command handler
// supplies the time (`at`) and checks what needs other aggregates (names, chassis, conductors).

import * as E from 'fp-ts/lib/Either.js';
import { compact, jsonEqual, type Dict } from '../codecs.ts';
import { domainError, type DomainError } from '../errors.ts';
import { powerVerbs } from '../power/states.ts';
import {
  deleteAllowedStates,
  provisionVerbs,
  ProvisionStates as S,
  UNSTABLE_STATES,
  UPDATE_ALLOWED_STATES,
  verbsRefusedInMaintenance,
  verbsRefusedWhenProtected,
  isStable,
} from '../provision/states.ts';
import { invalidStateRequested, transition, verbAllowedIn } from '../provision/transitions.ts';
import { findClearSecrets, type SecretScope } from '../secrets.ts';
import type { Holder, NodeCommand, NodeCommandOf } from './commands.ts';
import * as err from './errors.ts';
import type { NodeEvent } from './events.ts';
import { raidConfigError } from './raid.ts';
import type { NodeState } from './evolve.ts';
import { emptyInterfaces, type Node } from './node.ts';

type Result = E.Either<DomainError, NodeEvent[]>;
const ok = (...events: NodeEvent[]): Result => E.right(events);
const fail = (e: DomainError): Result => E.left(e);

/** Ironic's MAX_TRAITS_PER_NODE */
export const MAX_TRAITS_PER_NODE = 50;

/** A command without a holder is a user's request: a reserved node refuses it (409 NodeLocked).
 * A conductor's command names the reservation it works under and is fenced by it. */
const lockError = (node: Node, holder: Holder | undefined): DomainError | undefined => {
  if (!holder) return node.reservation ? err.nodeLocked(node.uuid, node.reservation) : undefined;
  if (node.reservation === null)
    return err.notOwner(`Node ${node.uuid} is not reserved by conductor ${holder.host}.`);
  if (node.reservation !== holder.host) return err.nodeLocked(node.uuid, node.reservation);
  if (node.reservation_epoch !== null && holder.ring_epoch < node.reservation_epoch)
    return err.notOwner(
      `Conductor ${holder.host} acts at ring epoch ${holder.ring_epoch} but node ${node.uuid} was reserved at epoch ${node.reservation_epoch}.`,
    );
  return undefined;
};

const secretsError = (dicts: ReadonlyArray<[Dict | undefined, SecretScope, string]>): DomainError | undefined => {
  const clear = dicts.flatMap(([d, scope, name]) => (d ? findClearSecrets(d, scope).map((p) => `${name}.${p}`) : []));
  return clear.length > 0 ? err.clearSecret(clear) : undefined;
};

const newNode = (c: NodeCommandOf<'CreateNode'>['data']): Node => ({
  uuid: c.uuid,
  created_at: c.at,
  updated_at: null,
  name: null,
  driver_info: {},
  instance_info: {},
  instance_uuid: null,
  extra: {},
  properties: {},
  chassis_uuid: null,
  maintenance: false,
  resource_class: null,
  automated_clean: null,
  protected: false,
  protected_reason: null,
  owner: null,
  description: null,
  retired: false,
  retired_reason: null,
  lessee: null,
  network_data: {},
  shard: null,
  ...emptyInterfaces(),
  ...c.fields,
  conductor_group: (c.fields.conductor_group ?? '').toLowerCase(),
  driver_internal_info: {},
  power_state: null,
  target_power_state: null,
  provision_state: c.initial_provision_state ?? S.ENROLL,
  target_provision_state: null,
  provision_updated_at: null,
  last_error: null,
  maintenance_reason: null,
  fault: null,
  reservation: null,
  reservation_epoch: null,
  console_enabled: false,
  clean_step: {},
  deploy_step: {},
  raid_config: {},
  target_raid_config: {},
  inspection_started_at: null,
  inspection_finished_at: null,
  traits: [],
  allocation_uuid: null,
  boot_mode: null,
  secure_boot: null,
  vifs: [],
  conductor_affinity: null,
});

/** Only the fields that really change; nothing changed means nothing to record. */
const changedOnly = <T extends Dict>(node: Node, changes: T): Partial<T> =>
  Object.fromEntries(
    Object.entries(changes).filter(([k, v]) => v !== undefined && !jsonEqual((node as unknown as Dict)[k], v)),
  ) as Partial<T>;

const decideUpdate = (node: Node, c: NodeCommandOf<'UpdateNode'>['data']): Result => {
  const changes: Dict = { ...c.changes };
  if (changes.protected === null) changes.protected = false;
  if (typeof changes.conductor_group === 'string') changes.conductor_group = changes.conductor_group.toLowerCase();
  const secret = secretsError([
    [c.changes.driver_info, 'driver_info', 'driver_info'],
    [c.changes.instance_info, 'instance_info', 'instance_info'],
  ]);
  if (secret) return fail(secret);

  if (!c.holder) {
    // a node in maintenance may always drop its instance_uuid
    const onlyInstanceRemoval =
      node.maintenance && Object.keys(c.changes).length === 1 && c.changes.instance_uuid === null;
    if (!onlyInstanceRemoval) {
      if (node.target_provision_state !== null && !UPDATE_ALLOWED_STATES.has(node.provision_state))
        return fail(err.updateInTransition(node.uuid));
      if (node.provision_state === S.INSPECTING && (c.microversion ?? 82) >= 39)
        return fail(err.updateWhileInspecting(node.uuid));
    }
    if (changes.driver !== undefined && changes.driver !== node.driver && node.console_enabled)
      return fail(
        domainError(
          'Conflict',
          `Node ${node.uuid} can not update the driver while the console is enabled. Please stop the console first.`,
        ),
      );
  }
  const locked = lockError(node, c.holder);
  if (locked) return fail(locked);

  const delta = changedOnly(node, changes);
  const after = { ...node, ...delta } as Node;
  if (delta.protected === true && after.provision_state !== S.ACTIVE && after.provision_state !== S.RESCUE)
    return fail(
      domainError(
        'InvalidState',
        `Protection can only be set in "active" or "rescue" states, the current state is "${after.provision_state}"`,
      ),
    );
  if (!after.protected && after.protected_reason) {
    if ('protected_reason' in delta)
      return fail(domainError('InvalidParameterValue', 'The protected_reason field can only be set when protected is True'));
    delta.protected_reason = null;
  }
  if (!after.retired && after.retired_reason) {
    if ('retired_reason' in delta)
      return fail(domainError('InvalidParameterValue', 'The retired_reason field can only be set when retired is True'));
    delta.retired_reason = null;
  }
  if ('owner' in delta && (node.provision_state === S.ACTIVE || node.allocation_uuid !== null))
    return fail(
      domainError(
        'Conflict',
        `Node ${node.uuid} is allocated or in state "active"; its owner cannot be changed.`,
      ),
    );
  if (Object.keys(delta).length === 0) return ok();
  return ok({ type: 'NodeUpdated', data: { uuid: node.uuid, at: c.at, changes: delta } });
};

const decideDelete = (node: Node, c: NodeCommandOf<'DeleteNode'>['data']): Result => {
  const locked = lockError(node, undefined);
  if (locked) return fail(locked);
  if (!node.maintenance && node.instance_uuid !== null) return fail(err.nodeAssociated(node.uuid, node.instance_uuid));
  if (node.protected) return fail(err.nodeProtected(node.uuid));
  const allowed = deleteAllowedStates(c.allow_deleting_available ?? true);
  if (!node.maintenance && !allowed.includes(node.provision_state))
    return fail(err.deleteInvalidState(node.uuid, node.provision_state, allowed));
  return ok({ type: 'NodeDeleted', data: { uuid: node.uuid, at: c.at } });
};

const decideProvision = (node: Node, c: NodeCommandOf<'RequestProvisionAction'>['data']): Result => {
  const verb = provisionVerbs[c.verb];
  if (node.maintenance && verbsRefusedInMaintenance.includes(c.verb))
    return fail(err.nodeInMaintenance('provisioning', node.uuid));
  if (!verbAllowedIn(c.verb, node.provision_state)) {
    if (node.reservation) return fail(err.nodeLocked(node.uuid, node.reservation));
    return fail(invalidStateRequested(c.verb, node.uuid, node.provision_state));
  }
  const bodyKeys = verb.bodyKeys as Readonly<Record<string, { readonly required?: boolean }>>;
  const given = (['configdrive', 'clean_steps', 'deploy_steps', 'rescue_password', 'disable_ramdisk'] as const).filter(
    (k) => c[k] !== undefined,
  );
  for (const k of given)
    if (!(k in bodyKeys))
      return fail(domainError('InvalidParameterValue', `${k} is not valid when setting target provision state to ${c.verb}`));
  for (const [k, spec] of Object.entries(bodyKeys))
    if (spec.required && c[k as (typeof given)[number]] === undefined)
      return fail(
        domainError('InvalidParameterValue', `"${k}" is required when setting target provision state to ${c.verb}`),
      );
  const secret = secretsError([
    ...(c.clean_steps ?? []).map((s, i): [Dict | undefined, SecretScope, string] => [s.args, 'args', `clean_steps[${i}].args`]),
    ...(c.deploy_steps ?? []).map((s, i): [Dict | undefined, SecretScope, string] => [s.args, 'args', `deploy_steps[${i}].args`]),
  ]);
  if (secret) return fail(secret);
  const locked = lockError(node, undefined);
  if (locked) return fail(locked);
  if (node.protected && verbsRefusedWhenProtected.includes(c.verb)) return fail(err.nodeProtected(node.uuid));
  if (c.verb === 'provide' && node.retired) return fail(err.nodeIsRetired('providing', node.uuid));

  const requested: NodeEvent = {
    type: 'ProvisionActionRequested',
    data: compact({
      uuid: node.uuid,
      at: c.at,
      verb: c.verb,
      event: verb.event,
      configdrive: c.configdrive,
      clean_steps: c.clean_steps,
      deploy_steps: c.deploy_steps,
      rescue_password: c.rescue_password,
      disable_ramdisk: c.disable_ramdisk,
      user: c.user,
    }),
  };
  // Ironic defers an abort of a step that cannot be aborted: cleaning stops after it (§4.3)
  if (
    verb.event === 'abort' &&
    node.provision_state === S.CLEANWAIT &&
    Object.keys(node.clean_step).length > 0 &&
    node.clean_step.abortable !== true
  )
    return ok(requested, { type: 'CleanAbortDeferred', data: { uuid: node.uuid, at: c.at } });

  return E.map((pos: { state: typeof node.provision_state; target: typeof node.target_provision_state }): NodeEvent[] => [
    requested,
    {
      type: 'ProvisionStateChanged',
      data: compact({
        uuid: node.uuid,
        at: c.at,
        from: node.provision_state,
        event: verb.event,
        to: pos.state,
        target: pos.target,
        // work that runs asynchronously starts with a clean slate (TaskManager.process_event)
        last_error: isStable(pos.state) ? undefined : null,
      }),
    },
  ])(transition(node.provision_state, node.target_provision_state, verb.event, { node: node.uuid, action: c.verb }));
};

const decideApplyEvent = (node: Node, c: NodeCommandOf<'ApplyProvisionEvent'>['data']): Result => {
  const locked = lockError(node, c.holder);
  if (locked) return fail(locked);
  return E.map((pos: { state: typeof node.provision_state; target: typeof node.target_provision_state }): NodeEvent[] => [
    {
      type: 'ProvisionStateChanged',
      data: compact({
        uuid: node.uuid,
        at: c.at,
        from: node.provision_state,
        event: c.event,
        to: pos.state,
        target: pos.target,
        last_error: c.last_error,
      }),
    },
  ])(transition(node.provision_state, node.target_provision_state, c.event, { node: node.uuid }));
};

const decidePresent = (node: Node, command: NodeCommand): Result => {
  const at = command.data.at;
  const uuid = node.uuid;
  const guard = (holder: Holder | undefined, then: () => Result): Result => {
    const locked = lockError(node, holder);
    return locked ? fail(locked) : then();
  };
  switch (command.type) {
    case 'CreateNode':
      return fail(err.nodeAlreadyExists(uuid));
    case 'UpdateNode':
      return decideUpdate(node, command.data);
    case 'UpdateNodeInternal':
      return guard(command.data.holder, () => {
        const secret = secretsError([[command.data.changes.instance_info, 'instance_info', 'instance_info']]);
        if (secret) return fail(secret);
        const delta = changedOnly(node, command.data.changes);
        return Object.keys(delta).length === 0 ? ok() : ok({ type: 'NodeInternalUpdated', data: { uuid, at, changes: delta } });
      });
    case 'DeleteNode':
      return decideDelete(node, command.data);
    case 'RequestProvisionAction':
      return decideProvision(node, command.data);
    case 'ApplyProvisionEvent':
      return decideApplyEvent(node, command.data);
    case 'RequestPowerState': {
      const { target, timeout } = command.data;
      if (node.provision_state === S.CLEANING || node.provision_state === S.CLEANWAIT)
        return fail(invalidStateRequested(target, uuid, node.provision_state));
      if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1))
        return fail(domainError('InvalidParameterValue', `Invalid timeout value ${timeout}. The timeout must be an integer of at least 1 second.`));
      return guard(undefined, () =>
        ok({
          type: 'PowerStateChangeRequested',
          data: compact({ uuid, at, requested: target, target_power_state: powerVerbs[target].targetPowerState, timeout }),
        }),
      );
    }
    case 'RecordPowerState':
      return guard(command.data.holder, () =>
        ok({ type: 'PowerStateChanged', data: { uuid, at, power_state: command.data.power_state } }),
      );
    case 'FailPowerState':
      return guard(command.data.holder, () => ok({ type: 'PowerStateChangeFailed', data: { uuid, at, error: command.data.error } }));
    case 'ObservePowerState':
      return guard(command.data.holder, () =>
        node.power_state === command.data.power_state
          ? ok()
          : ok({ type: 'PowerStateObserved', data: { uuid, at, power_state: command.data.power_state } }),
      );
    case 'SetMaintenance':
      return guard(command.data.holder, () => {
        const reason = command.data.reason ?? null;
        const fault = command.data.fault;
        if (node.maintenance && node.maintenance_reason === reason && (fault === undefined || fault === node.fault)) return ok();
        return ok({ type: 'MaintenanceSet', data: compact({ uuid, at, reason, fault }) });
      });
    case 'ClearMaintenance':
      return guard(command.data.holder, () =>
        node.maintenance || node.maintenance_reason !== null || node.fault !== null
          ? ok({ type: 'MaintenanceCleared', data: { uuid, at } })
          : ok(),
      );
    case 'ReserveNode': {
      const { host, ring_epoch } = command.data;
      if (node.reservation !== null && node.reservation !== host) return fail(err.nodeLocked(uuid, node.reservation));
      if (node.reservation === host) {
        if (node.reservation_epoch !== null && ring_epoch < node.reservation_epoch)
          return fail(err.notOwner(`Conductor ${host} acts at ring epoch ${ring_epoch} but node ${uuid} was reserved at epoch ${node.reservation_epoch}.`));
        if (node.reservation_epoch === ring_epoch) return ok();
      }
      return ok({ type: 'NodeReserved', data: { uuid, at, host, ring_epoch } });
    }
    case 'ReleaseNode': {
      const { host, force } = command.data;
      if (node.reservation === null) return ok();
      if (node.reservation !== host && !force) return fail(err.nodeLocked(uuid, node.reservation));
      return ok({ type: 'NodeReleased', data: compact({ uuid, at, host: node.reservation, forced: force ? true : undefined }) });
    }
    case 'SetTraits':
      return guard(undefined, () => {
        const traits = [...new Set(command.data.traits)];
        if (traits.length > MAX_TRAITS_PER_NODE)
          return fail(
            domainError(
              'InvalidParameterValue',
              `Could not modify traits for node ${uuid} as it would exceed the maximum number of traits per node (${traits.length} vs. ${MAX_TRAITS_PER_NODE})`,
            ),
          );
        return jsonEqual(traits, node.traits) ? ok() : ok({ type: 'TraitsSet', data: { uuid, at, traits } });
      });
    case 'AddTrait':
      return guard(undefined, () => {
        const { trait } = command.data;
        if (node.traits.includes(trait)) return ok();
        if (node.traits.length + 1 > MAX_TRAITS_PER_NODE)
          return fail(
            domainError(
              'InvalidParameterValue',
              `Could not modify traits for node ${uuid} as it would exceed the maximum number of traits per node (${node.traits.length + 1} vs. ${MAX_TRAITS_PER_NODE})`,
            ),
          );
        return ok({ type: 'TraitAdded', data: { uuid, at, trait } });
      });
    case 'RemoveTrait':
      return guard(undefined, () =>
        node.traits.includes(command.data.trait)
          ? ok({ type: 'TraitRemoved', data: { uuid, at, trait: command.data.trait } })
          : fail(err.traitNotFound(uuid, command.data.trait)),
      );
    case 'AttachVif':
      return guard(command.data.holder, () => {
        const { vif } = command.data;
        if (vif.port_uuid !== undefined && vif.portgroup_uuid !== undefined)
          return fail(domainError('InvalidParameterValue', 'Cannot specify both port_uuid and portgroup_uuid'));
        const existing = node.vifs.find((v) => v.id === vif.id);
        if (existing)
          return fail(
            existing.port_uuid
              ? err.vifAlreadyAttached(vif.id, 'port', existing.port_uuid)
              : existing.portgroup_uuid
                ? err.vifAlreadyAttached(vif.id, 'portgroup', existing.portgroup_uuid)
                : err.vifAlreadyAttached(vif.id, 'node', uuid),
          );
        return ok({ type: 'VifAttached', data: { uuid, at, vif: compact({ ...vif }) } });
      });
    case 'DetachVif':
      return guard(command.data.holder, () =>
        node.vifs.some((v) => v.id === command.data.vif_id)
          ? ok({ type: 'VifDetached', data: { uuid, at, vif_id: command.data.vif_id } })
          : fail(err.vifNotAttached(command.data.vif_id, uuid)),
      );
    case 'SetConsoleMode':
      return guard(command.data.holder, () =>
        node.console_enabled === command.data.enabled ? ok() : ok({ type: 'ConsoleSet', data: { uuid, at, enabled: command.data.enabled } }),
      );
    case 'RequestBootMode': {
      const { boot_mode, secure_boot } = command.data;
      if (boot_mode === undefined && secure_boot === undefined)
        return fail(domainError('InvalidParameterValue', 'A boot_mode or secure_boot target is required'));
      if (UNSTABLE_STATES.has(node.provision_state))
        return fail(
          domainError('Conflict', `Node ${uuid} is in an unstable state "${node.provision_state}"; boot mode cannot be changed now.`),
        );
      return guard(undefined, () => ok({ type: 'BootModeChangeRequested', data: compact({ uuid, at, boot_mode, secure_boot }) }));
    }
    case 'RecordBootMode':
      return guard(command.data.holder, () => {
        const { boot_mode, secure_boot } = command.data;
        const changed =
          (boot_mode !== undefined && boot_mode !== node.boot_mode) || (secure_boot !== undefined && secure_boot !== node.secure_boot);
        return changed ? ok({ type: 'BootModeChanged', data: compact({ uuid, at, boot_mode, secure_boot }) }) : ok();
      });
    case 'SetTargetRaidConfig': {
      const invalid = raidConfigError(command.data.target_raid_config);
      if (invalid) return fail(invalid);
      return guard(undefined, () =>
        ok({ type: 'TargetRaidConfigSet', data: { uuid, at, target_raid_config: command.data.target_raid_config } }),
      );
    }
    case 'UpdateDriverInternalInfo':
      return guard(command.data.holder, () => {
        const { set, unset } = command.data;
        const secret = secretsError([[set, 'driver_internal_info', 'driver_internal_info']]);
        if (secret) return fail(secret);
        const realSet = changedOnly(node.driver_internal_info as unknown as Node, set) as Dict;
        const realUnset = unset.filter((k) => k in node.driver_internal_info && !(k in set));
        if (Object.keys(realSet).length === 0 && realUnset.length === 0) return ok();
        return ok({ type: 'DriverInternalInfoUpdated', data: { uuid, at, set: realSet, unset: realUnset } });
      });
    case 'IssueAgentToken':
      return guard(command.data.holder, () =>
        node.driver_internal_info.agent_secret_token !== undefined
          ? fail(domainError('InvalidState', `Node ${uuid} already has an agent token.`))
          : ok({ type: 'AgentTokenIssued', data: { uuid, at, token: command.data.token, pregenerated: command.data.pregenerated ?? true } }),
      );
    case 'ClearAgentToken':
      return guard(command.data.holder, () => {
        const dii = node.driver_internal_info;
        const any = ['agent_secret_token', 'agent_secret_token_pregenerated', 'agent_url', 'agent_verify_ca'].some((k) => k in dii);
        return any ? ok({ type: 'AgentTokenCleared', data: { uuid, at } }) : ok();
      });
    case 'RecordAgentHeartbeat':
      return guard(command.data.holder, () => {
        const known = node.driver_internal_info.agent_url;
        if (typeof known === 'string' && known !== command.data.agent_url)
          return fail(domainError('InvalidParameterValue', 'Detected change in ramdisk provided "callback_url"'));
        const { agent_url, agent_version, agent_verify_ca } = command.data;
        return ok({ type: 'AgentHeartbeatRecorded', data: compact({ uuid, at, agent_url, agent_version, agent_verify_ca }) });
      });
    case 'PlanSteps':
      return guard(command.data.holder, () => {
        const secret = secretsError(command.data.steps.map((s, i): [Dict | undefined, SecretScope, string] => [s.args, 'args', `steps[${i}].args`]));
        return secret ? fail(secret) : ok({ type: 'StepsPlanned', data: { uuid, at, kind: command.data.kind, steps: command.data.steps } });
      });
    case 'StartStep':
      return guard(command.data.holder, () => {
        const secret = secretsError([[command.data.step.args, 'args', 'step.args']]);
        if (secret) return fail(secret);
        const { kind, step, index } = command.data;
        return ok({ type: 'StepStarted', data: { uuid, at, kind, step, index } });
      });
    case 'CompleteStep':
      return guard(command.data.holder, () => {
        const { kind } = command.data;
        const current = kind === 'clean' ? node.clean_step : node.deploy_step;
        if (typeof current.interface !== 'string' || typeof current.step !== 'string') return ok();
        return ok({ type: 'StepCompleted', data: { uuid, at, kind, step: current as { interface: string; step: string } } });
      });
    case 'RecordHistory':
      return ok({ type: 'NodeHistoryRecorded', data: { uuid, at, entry: { ...command.data.entry, created_at: at } } });
  }
};

export const decideNode = (command: NodeCommand, state: NodeState): Result => {
  if (state.status !== 'present') {
    if (command.type !== 'CreateNode') return fail(err.nodeNotFound(command.data.uuid));
    const c = command.data;
    const secret = secretsError([
      [c.fields.driver_info, 'driver_info', 'driver_info'],
      [c.fields.instance_info, 'instance_info', 'instance_info'],
    ]);
    if (secret) return fail(secret);
    return ok({ type: 'NodeCreated', data: { node: newNode(c) } });
  }
  return decidePresent(state.node, command);
};
