// Domain errors are values, not exceptions. Each carries the Ironic exception class it stands
// for and the HTTP status the API maps it to (ironic-v1 reference §2.2), so the API layer
// shapes every response from the error alone.

export type IronicErrorClass =
  | 'Invalid'
  | 'InvalidParameterValue'
  | 'MissingParameterValue'
  | 'InvalidStateRequested'
  | 'NodeInMaintenance'
  | 'NodeIsRetired'
  | 'InvalidUuidOrName'
  | 'InvalidMAC'
  | 'PatchError'
  | 'ChassisNotEmpty'
  | 'PortgroupNotEmpty'
  | 'NoValidHost'
  | 'UnsupportedDriverExtension'
  | 'NodeProtected'
  | 'OperationNotPermitted'
  | 'NotFound'
  | 'NodeNotFound'
  | 'PortNotFound'
  | 'PortgroupNotFound'
  | 'ChassisNotFound'
  | 'AllocationNotFound'
  | 'DeployTemplateNotFound'
  | 'ConductorNotFound'
  | 'VolumeConnectorNotFound'
  | 'VolumeTargetNotFound'
  | 'NodeTraitNotFound'
  | 'VifNotAttached'
  | 'NotAcceptable'
  | 'Conflict'
  | 'NodeLocked'
  | 'InvalidState'
  | 'NodeAssociated'
  | 'DuplicateName'
  | 'NodeAlreadyExists'
  | 'MACAlreadyExists'
  | 'PortgroupDuplicateName'
  | 'InstanceAssociated'
  | 'VifAlreadyAttached'
  | 'AllocationDuplicateName'
  | 'DeployTemplateDuplicateName'
  | 'DeployTemplateAlreadyExists'
  | 'VolumeTargetBootIndexAlreadyExists'
  | 'ConcurrentWrite'
  | 'NotOwner'
  | 'TemporaryFailure'
  | 'NodeHistoryNotFound'
  | 'NodeConsoleNotEnabled'
  | 'ChassisAlreadyExists'
  | 'PortAlreadyExists'
  | 'PortgroupAlreadyExists'
  | 'AllocationAlreadyExists'
  | 'VolumeConnectorAlreadyExists'
  | 'VolumeConnectorTypeAndIdAlreadyExists'
  | 'VolumeTargetAlreadyExists'
  | 'PortDuplicateName';

const statusOf: Record<IronicErrorClass, number> = {
  Invalid: 400,
  InvalidParameterValue: 400,
  MissingParameterValue: 400,
  InvalidStateRequested: 400,
  NodeInMaintenance: 400,
  NodeIsRetired: 400,
  InvalidUuidOrName: 400,
  InvalidMAC: 400,
  PatchError: 400,
  ChassisNotEmpty: 400,
  PortgroupNotEmpty: 400,
  NoValidHost: 400,
  UnsupportedDriverExtension: 400,
  VifNotAttached: 400,
  NodeProtected: 403,
  OperationNotPermitted: 403,
  NotFound: 404,
  NodeNotFound: 404,
  PortNotFound: 404,
  PortgroupNotFound: 404,
  ChassisNotFound: 404,
  AllocationNotFound: 404,
  DeployTemplateNotFound: 404,
  ConductorNotFound: 404,
  VolumeConnectorNotFound: 404,
  VolumeTargetNotFound: 404,
  NodeTraitNotFound: 404,
  NotAcceptable: 406,
  Conflict: 409,
  NodeLocked: 409,
  InvalidState: 409,
  NodeAssociated: 409,
  DuplicateName: 409,
  NodeAlreadyExists: 409,
  MACAlreadyExists: 409,
  PortgroupDuplicateName: 409,
  InstanceAssociated: 409,
  VifAlreadyAttached: 409,
  AllocationDuplicateName: 409,
  DeployTemplateDuplicateName: 409,
  DeployTemplateAlreadyExists: 409,
  VolumeTargetBootIndexAlreadyExists: 409,
  // our own: a concurrent writer won the race (expected revision); callers may retry
  ConcurrentWrite: 409,
  // our own: a conductor fenced out of a node it no longer owns (ring epoch moved on)
  NotOwner: 409,
  TemporaryFailure: 503,
  NodeHistoryNotFound: 404,
  NodeConsoleNotEnabled: 400,
  ChassisAlreadyExists: 409,
  PortAlreadyExists: 409,
  PortgroupAlreadyExists: 409,
  AllocationAlreadyExists: 409,
  VolumeConnectorAlreadyExists: 409,
  VolumeConnectorTypeAndIdAlreadyExists: 409,
  VolumeTargetAlreadyExists: 409,
  PortDuplicateName: 409,
};

export interface DomainError {
  readonly errorClass: IronicErrorClass;
  readonly status: number;
  /** Ironic's faultstring, worded as Ironic words it */
  readonly message: string;
}

export const domainError = (errorClass: IronicErrorClass, message: string): DomainError => ({
  errorClass,
  status: statusOf[errorClass],
  message,
});

export const isDomainError = (e: unknown): e is DomainError =>
  typeof e === 'object' && e !== null && 'errorClass' in e && 'status' in e && 'message' in e;
