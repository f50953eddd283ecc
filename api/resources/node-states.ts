// /v1/nodes/{node}/states (reference §3.2, §4.2, §4.6): the states summary, provisioning verbs
// (with their version gates and body rules, checked in Ironic's order and worded as Ironic
// words them), power (soft power and timeout), boot mode and secure boot, RAID, console.
// Accepted work goes to the node's conductor (deps.conductors); the API answers 202 with a
// Location once the read models show the request.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NodeCommand } from '../../domain/node/commands.ts';
import type { Step } from '../../domain/node/steps.ts';
import { powerTargets, powerTimeoutMinMicroversion, type PowerTarget } from '../../domain/power/states.ts';
import { cleanStepInterfaces, deployStepInterfaces, provisionStateAtMicroversion, type ProvisionVerbName } from '../../domain/provision/states.ts';
import { findTransition } from '../../domain/provision/transitions.ts';
import { domainError } from '../../domain/errors.ts';
import { isPlainObject } from '../../domain/codecs.ts';
import { sealSecrets } from '../../domain/secrets.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf } from '../body.ts';
import { queryOf, rejectUnexpected } from '../collection.ts';
import type { NodeView } from '../deps.ts';
import { clientError, fromDomainError, notAcceptable } from '../http-errors.ts';
import { allows, requireVersion } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { raidConfigError } from '../../domain/node/raid.ts';
import { commandMeta, conduct, nowOf } from './common.ts';
import { nodeLookup } from './node-lookup.ts';

const tags = ['nodes'];

/** The request body as a dict of the keys an endpoint takes (Ironic's method arguments). */
export const argsBody = (req: FastifyRequest, allowed: readonly string[]): Record<string, unknown> => {
  const body = bodyOf(req.body);
  if (!isPlainObject(body)) throw clientError(`Invalid request body: ${pyRepr(body)} is not a JSON object`);
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length) throw clientError(`Unexpected arguments: ${extra.join(', ')}`);
  return body;
};

const requireArg = (body: Record<string, unknown>, name: string): unknown => {
  if (body[name] === undefined || body[name] === null) throw clientError(`Missing argument: "${name}"`);
  return body[name];
};

const stringField = (body: Record<string, unknown>, name: string): string | undefined => {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw clientError(`Expected string for ${name}: ${pyRepr(v)}`);
  return v;
};

const trueStrings = ['1', 't', 'true', 'on', 'y', 'yes'];
const falseStrings = ['0', 'f', 'false', 'off', 'n', 'no'];
/** args.boolean on a body value: a JSON boolean, or one of oslo's strings. */
export const booleanField = (body: Record<string, unknown>, name: string): boolean | undefined => {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (trueStrings.includes(s)) return true;
    if (falseStrings.includes(s)) return false;
  }
  throw clientError(`Invalid ${name}: Unrecognized value '${String(v)}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'`);
};

// ---- provisioning ------------------------------------------------------------------------------

/** api utils MIN_VERB_VERSIONS (check_allow_management_verbs). */
const minVerbVersions: Readonly<Record<string, number>> = {
  manage: 4, provide: 4, inspect: 6, abort: 13, clean: 15, adopt: 17, rescue: 38, unrescue: 38, deploy: 73, undeploy: 73,
};

/** states.VERBS: the API target → the state machine event. */
const verbEvents: Readonly<Record<string, string>> = {
  active: 'deploy', deploy: 'deploy', rebuild: 'rebuild', deleted: 'delete', undeploy: 'delete', manage: 'manage',
  provide: 'provide', inspect: 'inspect', clean: 'clean', abort: 'abort', adopt: 'adopt', rescue: 'rescue', unrescue: 'unrescue',
};

const deployLike = (target: string): boolean => target === 'active' || target === 'deploy';

const configDriveKeys: Readonly<Record<string, (v: unknown) => boolean>> = {
  meta_data: isPlainObject,
  network_data: isPlainObject,
  user_data: (v) => v === null || typeof v === 'string' || Array.isArray(v) || isPlainObject(v),
  vendor_data: isPlainObject,
};

/** check_allow_configdrive */
const checkConfigdrive = (req: FastifyRequest, target: string, configdrive: unknown): void => {
  if (configdrive === undefined || configdrive === null || configdrive === '') return;
  const allowed = allows(req, 35) ? ['active', 'rebuild'] : ['active'];
  if (!allowed.includes(deployLike(target) ? 'active' : target)) {
    throw clientError(`Adding a config drive is only supported when setting provision state to ${allowed.join(', ')}`);
  }
  if (typeof configdrive === 'string') return;
  if (!isPlainObject(configdrive)) throw clientError(`Invalid configdrive format: ${pyRepr(configdrive)} is not valid under any of the given schemas`);
  if (!allows(req, 56)) throw clientError('Providing a JSON object for configdrive is only supported starting with API version 1.56');
  if ('vendor_data' in configdrive && !allows(req, 59)) {
    throw clientError('Providing vendor_data in configdrive is only supported starting with API version 1.59');
  }
  for (const [k, v] of Object.entries(configdrive)) {
    const check = configDriveKeys[k];
    if (!check) throw clientError(`Invalid configdrive format: Additional properties are not allowed ('${k}' was unexpected)`);
    if (!check(v)) throw clientError(`Invalid configdrive format: ${pyRepr(v)} is not valid for '${k}'`);
  }
};

/** _CLEAN_STEPS_SCHEMA / _DEPLOY_STEPS_SCHEMA, with the args' secrets sealed. */
const validateSteps = (ctx: ResourceOptions, kind: 'clean' | 'deploy', steps: unknown): Step[] => {
  const what = `${kind}_steps`;
  const invalid = (m: string) => clientError(`Invalid ${what}: ${m}`);
  if (!Array.isArray(steps)) throw invalid(`${pyRepr(steps)} is not of type 'array'`);
  const interfaces: readonly string[] = kind === 'clean' ? cleanStepInterfaces : deployStepInterfaces;
  const keys = kind === 'clean' ? ['interface', 'step', 'args'] : ['interface', 'step', 'args', 'priority'];
  const required = kind === 'clean' ? ['interface', 'step'] : ['interface', 'step', 'args', 'priority'];
  return steps.map((s): Step => {
    if (!isPlainObject(s)) throw invalid(`${pyRepr(s)} is not of type 'object'`);
    for (const k of required) if (!(k in s)) throw invalid(`'${k}' is a required property`);
    const extra = Object.keys(s).filter((k) => !keys.includes(k));
    if (extra.length) throw invalid(`Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
    if (typeof s.interface !== 'string' || !interfaces.includes(s.interface)) throw invalid(`${pyRepr(s.interface)} is not one of [${interfaces.map((i) => `'${i}'`).join(', ')}]`);
    if (typeof s.step !== 'string' || s.step.length < 1) throw invalid(`${pyRepr(s.step)} is not a non-empty string`);
    if (s.args !== undefined && !isPlainObject(s.args)) throw invalid(`${pyRepr(s.args)} is not of type 'object'`);
    const step: Step = { interface: s.interface, step: s.step };
    if (isPlainObject(s.args)) step.args = sealSecrets(s.args, ctx.deps.secrets, 'args');
    if (s.priority !== undefined) {
      const p = typeof s.priority === 'string' ? Number(s.priority) : s.priority;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) throw invalid(`${pyRepr(s.priority)} is not a valid priority (an integer of at least 0)`);
      step.priority = p;
    }
    return step;
  });
};

export const nodeStateRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const lookup = nodeLookup(ctx.deps.readModels.nodes);
  const node = async (req: FastifyRequest): Promise<{ ident: string; node: NodeView }> => {
    const ident = lookup.identOf(req);
    return { ident, node: await lookup.resolve(req, ident) };
  };
  const statesUrl = (req: FastifyRequest, ident: string, sub = 'states') => `${req.baseUrl}/v1/nodes/${ident}/${sub}`;
  const versioned = (req: FastifyRequest, s: string | null): string | null =>
    s === null ? null : provisionStateAtMicroversion(s as NodeView['provision_state'], req.apiVersion.minor);

  app.get('/v1/nodes/:node_ident/states', { schema: { tags, summary: "A node's power, provision, console, RAID and boot states" } }, async (req) => {
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    const out: Record<string, unknown> = {
      console_enabled: n.console_enabled,
      last_error: n.last_error,
      power_state: n.power_state,
      provision_state: versioned(req, n.provision_state),
      target_power_state: n.target_power_state,
      target_provision_state: versioned(req, n.target_provision_state),
      provision_updated_at: n.provision_updated_at,
    };
    if (allows(req, 12)) {
      out.raid_config = n.raid_config;
      out.target_raid_config = n.target_raid_config;
    }
    if (allows(req, 75)) {
      out.boot_mode = n.boot_mode;
      out.secure_boot = n.secure_boot;
    }
    return out;
  });

  app.put(
    '/v1/nodes/:node_ident/states/provision',
    {
      schema: {
        tags,
        summary: 'Change the provision state (a verb of reference §4.2): 202 + Location',
        body: {
          type: 'object',
          required: ['target'],
          properties: {
            target: { type: 'string', enum: Object.keys(verbEvents) },
            configdrive: { description: 'string (gzip+base64 or URL), or (≥1.56) {meta_data, network_data, user_data, vendor_data (≥1.59)}' },
            clean_steps: { type: 'array', items: { type: 'object' }, description: 'clean only (≥1.15)' },
            deploy_steps: { type: 'array', items: { type: 'object' }, description: 'active/deploy/rebuild (≥1.69)' },
            rescue_password: { type: 'string', description: 'rescue only (≥1.38)' },
            disable_ramdisk: { type: 'boolean', description: 'clean only (≥1.70)' },
          },
        },
      },
    },
    async (req, reply) => {
      rejectUnexpected(queryOf(req), []);
      const body = argsBody(req, ['target', 'configdrive', 'clean_steps', 'deploy_steps', 'rescue_password', 'disable_ramdisk']);
      requireArg(body, 'target');
      const target = stringField(body, 'target')!;
      const configdrive = body.configdrive;
      if (configdrive !== undefined && configdrive !== null && typeof configdrive !== 'string' && !isPlainObject(configdrive)) {
        throw clientError(`Invalid configdrive format: ${pyRepr(configdrive)} is not valid under any of the given schemas`);
      }
      const cleanSteps = body.clean_steps ?? undefined;
      const deploySteps = body.deploy_steps ?? undefined;
      const rescuePassword = stringField(body, 'rescue_password');
      const disableRamdisk = booleanField(body, 'disable_ramdisk');
      const { ident, node: n } = await node(req);

      const minor = minVerbVersions[target];
      if (minor !== undefined && !allows(req, minor)) throw notAcceptable();
      if ((target === 'active' || target === 'deploy' || target === 'rebuild') && n.maintenance) {
        throw fromDomainError(domainError('NodeInMaintenance', `The provisioning operation can't be performed on node ${n.uuid} because it's in maintenance mode.`));
      }
      const event = verbEvents[target];
      const row = event === undefined ? undefined : findTransition(n.provision_state, event as never);
      if (!row || row.trigger !== 'api') {
        if (n.reservation) {
          throw fromDomainError(domainError('NodeLocked', `Node ${n.uuid} is locked by host ${n.reservation}, please retry after the current operation is completed.`));
        }
        throw fromDomainError(domainError('InvalidStateRequested', `The requested action "${target}" can not be performed on node "${n.uuid}" while it is in state "${n.provision_state}".`));
      }
      checkConfigdrive(req, target, configdrive);
      if (disableRamdisk !== undefined) {
        if (!allows(req, 70)) throw notAcceptable();
        if (target !== 'clean') throw clientError('"disable_ramdisk" is supported only with manual cleaning');
      }
      if (cleanSteps !== undefined && target !== 'clean') throw clientError('"clean_steps" is only valid when setting target provision state to clean');
      if (deploySteps !== undefined) {
        if (!allows(req, 69)) throw notAcceptable();
        if (!deployLike(target) && target !== 'rebuild') throw clientError('"deploy_steps" is only valid when setting target provision state to active or rebuild');
      }
      if (rescuePassword !== undefined && target !== 'rescue') throw clientError('"rescue_password" is only valid when setting target provision state to rescue');
      if (n.provision_state === 'inspect wait' && target === 'abort' && !allows(req, 41)) throw notAcceptable();
      if (target === 'clean' && (cleanSteps === undefined || (Array.isArray(cleanSteps) && cleanSteps.length === 0))) {
        throw clientError('"clean_steps" is required when setting target provision state to clean');
      }
      if (target === 'rescue' && !rescuePassword) throw clientError('A non-empty "rescue_password" is required when setting target provision state to rescue');

      const secrets = ctx.deps.secrets;
      const data: Extract<NodeCommand, { type: 'RequestProvisionAction' }>['data'] = {
        uuid: n.uuid,
        at: nowOf(ctx),
        verb: target as ProvisionVerbName,
        user: commandMeta(req).actor,
      };
      if (configdrive !== undefined && configdrive !== null && configdrive !== '') {
        data.configdrive = secrets.seal(typeof configdrive === 'string' ? configdrive : JSON.stringify(configdrive));
      }
      if (cleanSteps !== undefined) data.clean_steps = validateSteps(ctx, 'clean', cleanSteps);
      if (deploySteps !== undefined) data.deploy_steps = validateSteps(ctx, 'deploy', deploySteps);
      if (rescuePassword !== undefined) data.rescue_password = secrets.seal(rescuePassword);
      if (disableRamdisk !== undefined) data.disable_ramdisk = disableRamdisk;
      await conduct(ctx, req, n, { type: 'RequestProvisionAction', data });
      return reply.code(202).header('location', statesUrl(req, ident)).send();
    },
  );

  app.put(
    '/v1/nodes/:node_ident/states/power',
    {
      schema: {
        tags,
        summary: 'Change the power state (reference §4.6): 202 + Location',
        body: {
          type: 'object',
          required: ['target'],
          properties: { target: { type: 'string', enum: [...powerTargets] }, timeout: { type: 'integer', minimum: 1, description: '≥1.27' } },
        },
      },
    },
    async (req, reply) => {
      rejectUnexpected(queryOf(req), []);
      const body = argsBody(req, ['target', 'timeout']);
      requireArg(body, 'target');
      const target = stringField(body, 'target')!;
      let timeout: number | undefined;
      if (body.timeout !== undefined && body.timeout !== null) {
        const t = body.timeout;
        const n = typeof t === 'string' && /^\s*[+-]?\d+\s*$/.test(t) ? Number(t) : t;
        if (typeof n !== 'number' || !Number.isInteger(n)) throw clientError(`Expected an integer for timeout: ${pyRepr(t)}`);
        timeout = n;
      }
      const { ident, node: n } = await node(req);
      if ((target === 'soft rebooting' || target === 'soft power off' || timeout !== undefined) && !allows(req, powerTimeoutMinMicroversion)) throw notAcceptable();
      if (timeout !== undefined && timeout < 1) throw clientError('timeout has to be positive integer');
      if (!(powerTargets as readonly string[]).includes(target)) {
        throw fromDomainError(domainError('InvalidStateRequested', `The requested action "${target}" can not be performed on node "${ident}" while it is in state "${n.power_state}".`));
      }
      if (n.provision_state === 'cleaning' || n.provision_state === 'clean wait') {
        throw fromDomainError(domainError('InvalidStateRequested', `The requested action "${target}" can not be performed on node "${ident}" while it is in state "${n.provision_state}".`));
      }
      await conduct(ctx, req, n, {
        type: 'RequestPowerState',
        data: { uuid: n.uuid, at: nowOf(ctx), target: target as PowerTarget, ...(timeout !== undefined ? { timeout } : {}) },
      });
      return reply.code(202).header('location', statesUrl(req, ident)).send();
    },
  );

  app.put('/v1/nodes/:node_ident/states/boot_mode', { schema: { tags, summary: 'Set the boot mode (≥1.76): 202', body: { type: 'object', required: ['target'], properties: { target: { type: 'string', enum: ['uefi', 'bios'] } } } } }, async (req, reply) => {
    requireVersion(req, 76, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const body = argsBody(req, ['target']);
    requireArg(body, 'target');
    const target = stringField(body, 'target')!;
    const { ident, node: n } = await node(req);
    if (target !== 'uefi' && target !== 'bios') throw clientError(`Invalid boot mode ${target} requested for node.`, 400, 'InvalidParameterValue');
    await conduct(ctx, req, n, { type: 'RequestBootMode', data: { uuid: n.uuid, at: nowOf(ctx), boot_mode: target } });
    return reply.code(202).header('location', statesUrl(req, ident)).send();
  });

  app.put('/v1/nodes/:node_ident/states/secure_boot', { schema: { tags, summary: 'Turn secure boot on or off (≥1.76): 202', body: { type: 'object', required: ['target'], properties: { target: { type: 'boolean' } } } } }, async (req, reply) => {
    requireVersion(req, 76, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const body = argsBody(req, ['target']);
    requireArg(body, 'target');
    const target = booleanField(body, 'target')!;
    const { ident, node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'RequestBootMode', data: { uuid: n.uuid, at: nowOf(ctx), secure_boot: target } });
    return reply.code(202).header('location', statesUrl(req, ident)).send();
  });

  app.put('/v1/nodes/:node_ident/states/raid', { schema: { tags, summary: 'Set the target RAID configuration (≥1.12): 204', body: { type: 'object', properties: { logical_disks: { type: 'array' } } } } }, async (req, reply) => {
    requireVersion(req, 12);
    rejectUnexpected(queryOf(req), []);
    const config = bodyOf(req.body);
    if (!isPlainObject(config)) throw clientError(`Invalid request body: ${pyRepr(config)} is not a JSON object`);
    const { node: n } = await node(req);
    const invalid = raidConfigError(config);
    if (invalid) throw fromDomainError(invalid);
    await conduct(ctx, req, n, { type: 'SetTargetRaidConfig', data: { uuid: n.uuid, at: nowOf(ctx), target_raid_config: config } });
    return reply.code(204).send();
  });

  app.get('/v1/nodes/:node_ident/states/console', { schema: { tags, summary: "The node's console: {console_enabled, console_info}" } }, async (req) => {
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    // the fake console has no connection details (FakeConsole.get_console returns {})
    return { console_enabled: n.console_enabled, console_info: n.console_enabled ? {} : null };
  });

  app.put('/v1/nodes/:node_ident/states/console', { schema: { tags, summary: 'Enable or disable the console: 202', body: { type: 'object', required: ['enabled'], properties: { enabled: { type: 'boolean' } } } } }, async (req, reply) => {
    rejectUnexpected(queryOf(req), []);
    const body = argsBody(req, ['enabled']);
    requireArg(body, 'enabled');
    const enabled = booleanField(body, 'enabled')!;
    const { ident, node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'SetConsoleMode', data: { uuid: n.uuid, at: nowOf(ctx), enabled } });
    return reply.code(202).header('location', statesUrl(req, ident, 'states/console')).send();
  });
};
