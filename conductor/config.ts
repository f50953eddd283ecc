// The conductor's configuration, from the environment (../shared/conventions.md). Option names
// follow Ironic's where Ironic has one ([conductor]heartbeat_interval, hash_partition_exponent,
// enabled_hardware_types, ...).
//
// Belongs in config/index.ts as the `conductor` section; kept here until the lead folds it in.

import { hostname } from 'node:os';

export interface ConductorConfig {
  /** IRONLOG_CONDUCTOR_HOST (Ironic [DEFAULT]host) */
  host: string;
  /** IRONLOG_CONDUCTOR_GROUP (Ironic [conductor]conductor_group), lowercased */
  group: string;
  /** NATS_URL, comma-separated */
  natsServers: string[];
  /** IRONLOG_HEARTBEAT_INTERVAL_MS: how often a conductor says it is alive */
  heartbeatIntervalMs: number;
  /** IRONLOG_HEARTBEAT_MISSES: silent intervals before a conductor is declared lost */
  heartbeatMisses: number;
  /** IRONLOG_HASH_PARTITION_EXPONENT (Ironic hash_partition_exponent): 2^N partitions per host */
  hashPartitionExponent: number;
  /** IRONLOG_ENABLED_HARDWARE_TYPES (Ironic enabled_hardware_types), comma-separated */
  hardwareTypes: string[];
  /** IRONLOG_RPC_TIMEOUT_MS: how long one request to a conductor waits for its reply */
  rpcTimeoutMs: number;
  /** IRONLOG_RPC_DEADLINE_MS: how long a request keeps being re-routed before it gives up */
  rpcDeadlineMs: number;
  /** IRONLOG_CHECK_PROVISION_STATE_INTERVAL_S (Ironic check_provision_state_interval, 60): takeover sweep + callback timeouts */
  checkProvisionStateIntervalS: number;
  /** IRONLOG_{DEPLOY,CLEAN,RESCUE}_CALLBACK_TIMEOUT_S, IRONLOG_INSPECT_WAIT_TIMEOUT_S (Ironic, 1800 each; 0 disables) */
  callbackTimeouts: { deployCallbackS: number; cleanCallbackS: number; rescueCallbackS: number; inspectWaitS: number };
  /** IRONLOG_FAKE_STEP_DELAY_MS (conventions.md; Ironic's [fake]*_delay): how long each fake-hardware step takes */
  fakeStepDelayMs: number;
  /** IRONLOG_SYNC_POWER_STATE_INTERVAL_S (Ironic [conductor]sync_power_state_interval, 60; 0 disables) */
  syncPowerStateIntervalS: number;
  /** IRONLOG_POWER_STATE_SYNC_MAX_RETRIES (Ironic [conductor]power_state_sync_max_retries, 3): failed reads before maintenance */
  powerStateSyncMaxRetries: number;
  /** IRONLOG_AUTOMATED_CLEAN (Ironic [conductor]automated_clean, true): clean on provide and after tear down */
  automatedClean: boolean;
  /** IRONLOG_GRACEFUL_SHUTDOWN_TIMEOUT_S (Ironic [DEFAULT]graceful_shutdown_timeout, 60): how long a clean shutdown waits for running tasks */
  gracefulShutdownTimeoutS: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

const positiveInt = (env: Env, name: string, fallback: number, min = 1): number => {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, not "${raw}"`);
  return n;
};

const bool = (env: Env, name: string, fallback: boolean): boolean => {
  const raw = nonEmpty(env[name])?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new Error(`${name} must be true or false, not "${env[name]}"`);
};

const list = (v: string | undefined): string[] | undefined => {
  const items = (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length > 0 ? items : undefined;
};

export const defaultNatsUrl = 'nats://127.0.0.1:4222';

export const natsServersFrom = (env: Env = process.env): string[] => list(env.NATS_URL) ?? [defaultNatsUrl];

export const loadConductorConfig = (env: Env = process.env): ConductorConfig => {
  const heartbeatIntervalMs = positiveInt(env, 'IRONLOG_HEARTBEAT_INTERVAL_MS', 1000, 10);
  const heartbeatMisses = positiveInt(env, 'IRONLOG_HEARTBEAT_MISSES', 3);
  const rpcTimeoutMs = positiveInt(env, 'IRONLOG_RPC_TIMEOUT_MS', 10_000);
  return {
    host: nonEmpty(env.IRONLOG_CONDUCTOR_HOST) ?? hostname(),
    group: (nonEmpty(env.IRONLOG_CONDUCTOR_GROUP) ?? '').toLowerCase(),
    natsServers: natsServersFrom(env),
    heartbeatIntervalMs,
    heartbeatMisses,
    hashPartitionExponent: positiveInt(env, 'IRONLOG_HASH_PARTITION_EXPONENT', 5, 0),
    hardwareTypes: list(env.IRONLOG_ENABLED_HARDWARE_TYPES) ?? ['fake-hardware'],
    rpcTimeoutMs,
    // long enough to outlive one loss detection plus one request on the new owner
    rpcDeadlineMs: positiveInt(env, 'IRONLOG_RPC_DEADLINE_MS', Math.max(30_000, heartbeatIntervalMs * (heartbeatMisses + 2) + 2 * rpcTimeoutMs)),
    checkProvisionStateIntervalS: positiveInt(env, 'IRONLOG_CHECK_PROVISION_STATE_INTERVAL_S', 60),
    callbackTimeouts: {
      deployCallbackS: positiveInt(env, 'IRONLOG_DEPLOY_CALLBACK_TIMEOUT_S', 1800, 0),
      cleanCallbackS: positiveInt(env, 'IRONLOG_CLEAN_CALLBACK_TIMEOUT_S', 1800, 0),
      rescueCallbackS: positiveInt(env, 'IRONLOG_RESCUE_CALLBACK_TIMEOUT_S', 1800, 0),
      inspectWaitS: positiveInt(env, 'IRONLOG_INSPECT_WAIT_TIMEOUT_S', 1800, 0),
    },
    fakeStepDelayMs: positiveInt(env, 'IRONLOG_FAKE_STEP_DELAY_MS', 0, 0),
    syncPowerStateIntervalS: positiveInt(env, 'IRONLOG_SYNC_POWER_STATE_INTERVAL_S', 60, 0),
    powerStateSyncMaxRetries: positiveInt(env, 'IRONLOG_POWER_STATE_SYNC_MAX_RETRIES', 3, 1),
    automatedClean: bool(env, 'IRONLOG_AUTOMATED_CLEAN', true),
    gracefulShutdownTimeoutS: positiveInt(env, 'IRONLOG_GRACEFUL_SHUTDOWN_TIMEOUT_S', 60, 0),
  };
};
