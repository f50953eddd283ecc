// The node's errors, worded as Ironic words them (ironic/common/exception.py and the API).

import { domainError, type DomainError } from '../errors.ts';
import type { ProvisionState } from '../provision/states.ts';

export const nodeNotFound = (node: string): DomainError => domainError('NodeNotFound', `Node ${node} could not be found.`);
export const nodeAlreadyExists = (uuid: string): DomainError =>
  domainError('NodeAlreadyExists', `A node with UUID ${uuid} already exists.`);
export const nodeLocked = (node: string, host: string): DomainError =>
  domainError('NodeLocked', `Node ${node} is locked by host ${host}, please retry after the current operation is completed.`);
export const notOwner = (message: string): DomainError => domainError('NotOwner', message);
export const nodeInMaintenance = (op: string, node: string): DomainError =>
  domainError('NodeInMaintenance', `The ${op} operation can't be performed on node ${node} because it's in maintenance mode.`);
export const nodeIsRetired = (op: string, node: string): DomainError =>
  domainError('NodeIsRetired', `The ${op} operation can't be performed on node ${node} because it is retired.`);
export const nodeProtected = (node: string): DomainError =>
  domainError('NodeProtected', `Node ${node} is protected and cannot be undeployed, rebuilt or deleted`);
export const nodeAssociated = (node: string, instance: string): DomainError =>
  domainError('NodeAssociated', `Node ${node} is associated with instance ${instance}.`);
export const updateInTransition = (node: string): DomainError =>
  domainError('Conflict', `Node ${node} can not be updated while a state transition is in progress.`);
export const updateWhileInspecting = (node: string): DomainError =>
  domainError('Conflict', `Cannot update node "${node}" while it is in state "inspecting".`);
export const deleteInvalidState = (node: string, state: ProvisionState, valid: readonly string[]): DomainError =>
  domainError(
    'InvalidState',
    `Can not delete node "${node}" while it is in provision state "${state}". Valid provision states to start deletion are (${valid
      .map((s) => `'${s}'`)
      .join(', ')}), in addition to any state while in maintenance mode.`,
  );
export const traitNotFound = (node: string, trait: string): DomainError =>
  domainError('NodeTraitNotFound', `Node ${node} doesn't have a trait '${trait}'`);
export const vifNotAttached = (vif: string, node: string): DomainError =>
  domainError('VifNotAttached', `Unable to detach VIF ${vif} from node ${node} because it is not attached to it.`);
export const vifAlreadyAttached = (vif: string, objectType: string, objectUuid: string): DomainError =>
  domainError('VifAlreadyAttached', `Unable to set VIF ${vif}, already attached to Ironic ${objectType} ${objectUuid}`);
export const clearSecret = (paths: readonly string[]): DomainError =>
  domainError('InvalidParameterValue', `Secret values must be sealed before they are stored: ${paths.join(', ')}`);
