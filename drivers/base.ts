// The driver model, as Ironic's ironic/drivers/base.py shapes it: an interface is a small object
// with get_properties, validate and its verbs; a hardware type (hardware-type.ts) is the set of
// interface implementations it supports. Drivers are the imperative shell's adapters to hardware:
// they may sleep, talk to a BMC, fail. A failure is a DomainError value, thrown (Ironic raises);
// the executor catches it and records it as the node's last_error.

import type { Dict } from '../domain/codecs.ts';
import { domainError, isDomainError, type DomainError, type IronicErrorClass } from '../domain/errors.ts';
import type { Node } from '../domain/node/node.ts';
import type { PowerState, PowerTarget } from '../domain/power/states.ts';
import type { ProvisionState } from '../domain/provision/states.ts';

/** What every driver call gets: the node as the task sees it, and the signal that ends the task. */
export interface Task {
  readonly node: Node;
  /** aborted when this conductor loses the node (ring change, fenced): stop soon, write nothing */
  readonly signal: AbortSignal;
}

export const driverFailure = (errorClass: IronicErrorClass, message: string): DomainError => domainError(errorClass, message);

/** Turns whatever a driver threw into a message for last_error. */
export const failureText = (e: unknown): string => (isDomainError(e) ? e.message : e instanceof Error ? e.message : String(e));

export interface BaseInterface {
  /** the driver_info keys this interface reads, with their descriptions */
  getProperties(): Record<string, string>;
  /** throws InvalidParameterValue / MissingParameterValue when the node cannot use it */
  validate(task: Task): Promise<void>;
}

// ---- steps (Ironic's @clean_step / @deploy_step) -------------------------------------------------

/** What a step returns: done now, or the node must wait for a callback (CLEANWAIT / DEPLOYWAIT). */
export type StepOutcome = 'done' | 'wait';

export interface StepSpec {
  /** the method name, e.g. `erase_devices` */
  step: string;
  /** automated priority; 0 = only when asked for (manual clean, user deploy steps) */
  priority: number;
  abortable: boolean;
  argsinfo?: Record<string, { description: string; required: boolean }>;
  run(task: Task, args: Dict): Promise<StepOutcome>;
}

export interface WithSteps {
  cleanSteps?: readonly StepSpec[];
  deploySteps?: readonly StepSpec[];
}

// ---- the twelve interface types (drivers/base.py) -------------------------------------------------

export interface PowerInterface extends BaseInterface, WithSteps {
  getPowerState(task: Task): Promise<PowerState | null>;
  /** on, off, soft power off, soft rebooting */
  setPowerState(task: Task, state: Exclude<PowerTarget, 'rebooting'>, timeoutS?: number): Promise<void>;
  reboot(task: Task, timeoutS?: number): Promise<void>;
  getSupportedPowerStates(task: Task): readonly PowerTarget[];
}

export interface BootDeviceInfo {
  boot_device: string | null;
  persistent: boolean | null;
}

export interface ManagementInterface extends BaseInterface, WithSteps {
  getSupportedBootDevices(task: Task): readonly string[];
  setBootDevice(task: Task, device: string, persistent: boolean): Promise<void>;
  getBootDevice(task: Task): Promise<BootDeviceInfo>;
  injectNmi(task: Task): Promise<void>;
  getSupportedBootModes(task: Task): readonly string[];
  setBootMode(task: Task, mode: string): Promise<void>;
  setSecureBootState(task: Task, enabled: boolean): Promise<void>;
  getSensorsData(task: Task): Promise<Dict>;
  /** Ironic's get_supported_indicators: component → indicator name → its description; absent = unsupported */
  getSupportedIndicators?(task: Task, component?: string): Promise<SupportedIndicators>;
  /** ON, OFF, BLINKING or UNKNOWN */
  getIndicatorState?(task: Task, component: string, indicator: string): Promise<IndicatorState>;
  /**
   * Sets an indicator. Drivers write nothing to the log: what the hardware now holds that only
   * the node can remember (a fake BMC's LEDs) comes back as driver_internal_info keys to record.
   */
  setIndicatorState?(task: Task, component: string, indicator: string, state: IndicatorState): Promise<Dict | undefined>;
}

/** ironic.common.indicator_states */
export const indicatorStates = ['ON', 'OFF', 'BLINKING', 'UNKNOWN'] as const;
export type IndicatorState = (typeof indicatorStates)[number];
export interface IndicatorInfo {
  readonly: boolean;
  states: readonly IndicatorState[];
}
export type SupportedIndicators = Record<string, Record<string, IndicatorInfo>>;

export interface DeployInterface extends BaseInterface, WithSteps {
  prepare(task: Task): Promise<void>;
  /** removes the instance; `deleted` when done (Ironic's states.DELETED) */
  tearDown(task: Task): Promise<'deleted'>;
  cleanUp(task: Task): Promise<void>;
  takeOver(task: Task): Promise<void>;
  prepareCleaning(task: Task): Promise<StepOutcome>;
  tearDownCleaning(task: Task): Promise<void>;
}

export interface BootInterface extends BaseInterface, WithSteps {
  prepareRamdisk(task: Task): Promise<void>;
  cleanUpRamdisk(task: Task): Promise<void>;
  prepareInstance(task: Task): Promise<void>;
  cleanUpInstance(task: Task): Promise<void>;
}

export interface InspectInterface extends BaseInterface, WithSteps {
  /** the state to move to: manageable (done), inspect wait (async) */
  inspectHardware(task: Task): Promise<ProvisionState>;
  abort(task: Task): Promise<void>;
}

export interface ConsoleInterface extends BaseInterface {
  startConsole(task: Task): Promise<void>;
  stopConsole(task: Task): Promise<void>;
  getConsole(task: Task): Promise<Dict>;
}

export interface RescueInterface extends BaseInterface, WithSteps {
  /** rescue (done) or rescue wait */
  rescue(task: Task): Promise<ProvisionState>;
  /** active */
  unrescue(task: Task): Promise<ProvisionState>;
  cleanUp(task: Task): Promise<void>;
}

export interface StorageInterface extends BaseInterface, WithSteps {
  attachVolumes(task: Task): Promise<void>;
  detachVolumes(task: Task): Promise<void>;
  shouldWriteImage(task: Task): boolean;
}

export interface NetworkInterface extends BaseInterface, WithSteps {
  addProvisioningNetwork(task: Task): Promise<void>;
  removeProvisioningNetwork(task: Task): Promise<void>;
  configureTenantNetworks(task: Task): Promise<void>;
  unconfigureTenantNetworks(task: Task): Promise<void>;
}

/** RAID and BIOS have little but their steps (create_configuration, apply_configuration...). */
export interface RaidInterface extends BaseInterface, WithSteps {
  /**
   * Ironic's get_logical_disk_properties: each logical disk property with its description, from
   * the interface's RAID config schema. Absent = the `no-raid` kind (UnsupportedDriverExtension).
   */
  getLogicalDiskProperties?(): Record<string, string>;
}
export type BiosInterface = BaseInterface & WithSteps;

export interface PassthruMethod {
  http_methods: readonly string[];
  /** run in the background (202) or answer with the return value (200) */
  async: boolean;
  description: string;
  attach: boolean;
  require_exclusive_lock: boolean;
}

/** A driver-level method's metadata (Ironic's @driver_passthru: no lock, so no require_exclusive_lock). */
export type DriverPassthruMethod = Omit<PassthruMethod, 'require_exclusive_lock'>;

export interface VendorInterface {
  getProperties(): Record<string, string>;
  /** checks the method's arguments (MissingParameterValue...) */
  validate(task: Task, method: string, args: Dict): Promise<void>;
  routes(): Readonly<Record<string, PassthruMethod>>;
  call(task: Task, method: string, httpMethod: string, args: Dict): Promise<unknown>;
  /** methods not about a node (Ironic's driver_routes), served by `/v1/drivers/{name}/vendor_passthru` */
  driverRoutes?(): Readonly<Record<string, DriverPassthruMethod>>;
  /** Ironic's driver_validate */
  driverValidate?(method: string, args: Dict): Promise<void>;
  /** runs a driver-level method; `signal` ends it when the conductor stops */
  driverCall?(method: string, httpMethod: string, args: Dict, signal: AbortSignal): Promise<unknown>;
}

export interface InterfaceByType {
  bios: BiosInterface;
  boot: BootInterface;
  console: ConsoleInterface;
  deploy: DeployInterface;
  inspect: InspectInterface;
  management: ManagementInterface;
  network: NetworkInterface;
  power: PowerInterface;
  raid: RaidInterface;
  rescue: RescueInterface;
  storage: StorageInterface;
  vendor: VendorInterface;
}
export type InterfaceType = keyof InterfaceByType;

/** Core interfaces first, then optional ones (reference §5.3's key order), vendor last. */
export const interfaceTypes: readonly InterfaceType[] = [
  'boot', 'deploy', 'management', 'network', 'power',
  'bios', 'console', 'inspect', 'raid', 'rescue', 'storage',
  'vendor',
];
export const coreInterfaces: readonly InterfaceType[] = ['boot', 'deploy', 'management', 'network', 'power'];
