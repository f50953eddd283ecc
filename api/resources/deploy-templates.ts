// /v1/deploy_templates (reference §3.9, ≥1.55; GET below it → 404, writes → 405): list (detail,
// fields), show by UUID or name, create (201), JSON-patch (extra, name, steps), delete. Step
// args may carry secrets: sealed in the log, masked in responses.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { isPlainObject, nullable, partial } from '../../domain/codecs.ts';
import type { DeployTemplateChanges, DeployTemplateCreateFields, DeployTemplateStep } from '../../domain/deploytemplate/index.ts';
import { domainError } from '../../domain/errors.ts';
import { deployStepInterfaces } from '../../domain/provision/states.ts';
import { sealSecrets } from '../../domain/secrets.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf, decodeBody, refuseUnknownKeys } from '../body.ts';
import {
  canonicalUuid,
  commonListArgs,
  envelope,
  isUuidLike,
  queryOf,
  rejectUnexpected,
  returnFields,
  type SortSpec,
} from '../collection.ts';
import type { DeployTemplateView } from '../deps.ts';
import { clientError, fromDomainError } from '../http-errors.ts';
import { applyPatch } from '../patch.ts';
import { requireVersion } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { jsonSchemaOf } from '../schema.ts';
import { selfAndBookmark } from '../url.ts';
import { maskSecrets } from './node-json.ts';
import { nowOf, write } from './common.ts';
import { created, nextPage, patchRequest, sanitized, showFields, stamps } from './crud.ts';
import { validateTrait } from './node-extras.ts';

const tags = ['deploy templates'];
const DEFAULT_FIELDS = ['uuid', 'name'];
const fieldNames = ['uuid', 'created_at', 'updated_at', 'extra', 'name', 'steps', 'links'];
const sortSpec: SortSpec = { invalid: ['extra', 'steps'], known: ['uuid', 'name', 'created_at', 'updated_at'], versioned: {} };

const props = {
  extra: nullable(t.UnknownRecord),
  name: t.string,
  steps: t.array(t.unknown),
  uuid: nullable(t.string),
};
export const DeployTemplateBody = t.intersection([t.type({ name: t.string, steps: t.array(t.unknown) }), partial(props)]);
const keys = Object.keys(props);

const stepKeys = ['interface', 'step', 'args', 'priority'];

/** api_utils.DEPLOY_STEP_SCHEMA, args sealed. */
const validateStep = (ctx: ResourceOptions, s: unknown): DeployTemplateStep => {
  const err = (m: string) => clientError(`Schema error for deploy template: ${m}`);
  if (!isPlainObject(s)) throw err(`${pyRepr(s)} is not of type 'object'`);
  for (const k of stepKeys) if (!(k in s)) throw err(`'${k}' is a required property`);
  const extra = Object.keys(s).filter((k) => !stepKeys.includes(k));
  if (extra.length) throw err(`Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
  if (typeof s.interface !== 'string' || !(deployStepInterfaces as readonly string[]).includes(s.interface)) {
    throw err(`${pyRepr(s.interface)} is not one of [${deployStepInterfaces.map((i) => `'${i}'`).join(', ')}]`);
  }
  if (typeof s.step !== 'string') throw err(`${pyRepr(s.step)} is not of type 'string'`);
  if (!isPlainObject(s.args)) throw err(`${pyRepr(s.args)} is not of type 'object'`);
  const p = s.priority;
  const priority = typeof p === 'number' && Number.isInteger(p) && p >= 0 ? p : typeof p === 'string' && /^[0-9]+$/.test(p) ? Number(p) : undefined;
  if (priority === undefined) throw err(`${pyRepr(p)} is not valid under any of the given schemas`);
  return { interface: s.interface, step: s.step, args: sealSecrets(s.args, ctx.deps.secrets, 'args'), priority };
};

export const deployTemplateJson = (req: FastifyRequest, d: DeployTemplateView, fields?: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    ...stamps(d),
    extra: d.extra ?? {},
    name: d.name,
    steps: d.steps.map((s) => ({ interface: s.interface, step: s.step, args: maskSecrets(s.args ?? {}), priority: s.priority })),
    links: selfAndBookmark(req.baseUrl, 'deploy_templates', d.uuid),
  };
  return sanitized(req, out, fields, fieldNames);
};

export const deployTemplateRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const templates = deps.readModels.deployTemplates;
  const readGate = (req: FastifyRequest) => requireVersion(req, 55, 'not-found');
  const writeGate = (req: FastifyRequest) => requireVersion(req, 55, 'method-not-allowed');
  const notFoundError = (ident: string) => fromDomainError(domainError('DeployTemplateNotFound', `Deploy template ${ident} could not be found.`));

  const load = async (req: FastifyRequest): Promise<DeployTemplateView> => {
    const ident = (req.params as { template_ident: string }).template_ident;
    const d = isUuidLike(ident) ? await templates.get(canonicalUuid(ident)) : await templates.getByName(ident);
    if (!d) throw notFoundError(ident);
    return d;
  };

  const validate = (value: unknown): { name: string; steps: DeployTemplateStep[]; extra: Record<string, unknown>; uuid?: string } => {
    refuseUnknownKeys(value, keys, 'deploy template');
    const b = decodeBody(DeployTemplateBody, value, 'deploy template');
    if (b.name.length < 1 || b.name.length > 255) throw clientError(`Schema error for deploy template: ${pyRepr(b.name)} is too ${b.name.length < 1 ? 'short' : 'long'}`);
    validateTrait(b.name, 'Deploy template name must be a valid trait');
    if (b.steps.length < 1) throw clientError('Schema error for deploy template: [] is too short');
    if (typeof b.uuid === 'string' && !isUuidLike(b.uuid)) throw clientError(`Expected UUID for uuid: ${b.uuid}`);
    const out: { name: string; steps: DeployTemplateStep[]; extra: Record<string, unknown>; uuid?: string } = {
      name: b.name,
      steps: b.steps.map((s) => validateStep(ctx, s)),
      extra: (b.extra as Record<string, unknown> | null | undefined) ?? {},
    };
    if (typeof b.uuid === 'string') out.uuid = canonicalUuid(b.uuid);
    return out;
  };

  const list = async (req: FastifyRequest, detailPath: boolean) => {
    readGate(req);
    const query = queryOf(req);
    const paging = ['marker', 'limit', 'sort_key', 'sort_dir'];
    rejectUnexpected(query, detailPath ? paging : [...paging, 'fields', 'detail']);
    const args = commonListArgs(req, query, { maxLimit: config.maxLimit, sort: sortSpec });
    const fields = detailPath ? undefined : returnFields(req, args.fields, args.detail, DEFAULT_FIELDS, 55);
    const page = await templates.list({ limit: args.limit, marker: args.marker, sortKey: args.sortKey, sortDir: args.sortDir, filters: {} });
    if (E.isLeft(page)) throw fromDomainError(page.left);
    const items = page.right.map((d) => deployTemplateJson(req, d, fields));
    const next = nextPage(req, 'deploy_templates', detailPath, items, args, fields);
    return envelope('deploy_templates', items, next);
  };

  app.get('/v1/deploy_templates', { schema: { tags, summary: 'List deploy templates (≥1.55)' } }, async (req) => list(req, false));
  app.get('/v1/deploy_templates/detail', { schema: { tags, summary: 'List deploy templates with every field (≥1.55)' } }, async (req) => list(req, true));
  app.get('/v1/deploy_templates/:template_ident', { schema: { tags, summary: 'Show a deploy template (UUID or name)' } }, async (req) => {
    readGate(req);
    const fields = showFields(req);
    return deployTemplateJson(req, await load(req), fields);
  });

  app.post('/v1/deploy_templates', { schema: { tags, summary: 'Create a deploy template (≥1.55): 201 + Location', body: jsonSchemaOf(t.exact(DeployTemplateBody)) } }, async (req, reply) => {
    writeGate(req);
    rejectUnexpected(queryOf(req), []);
    const v = validate(bodyOf(req.body));
    const uuid = v.uuid ?? randomUUID();
    const fields: DeployTemplateCreateFields = { name: v.name, steps: v.steps, extra: v.extra };
    await write(ctx, req, 'deploytemplate', uuid, { type: 'CreateDeployTemplate', data: { uuid, at: nowOf(ctx), fields } });
    const d = await templates.get(uuid);
    if (!d) throw notFoundError(uuid);
    created(req, reply, 'deploy_templates', uuid);
    return deployTemplateJson(req, d);
  });

  app.patch('/v1/deploy_templates/:template_ident', { schema: { tags, summary: 'Update a deploy template (JSON patch: extra, name, steps)', body: { type: 'array', items: { type: 'object' } } } }, async (req) => {
    writeGate(req);
    const { patch } = patchRequest(req, ['extra', 'name', 'steps']);
    const current = await load(req);
    const patched = applyPatch({ uuid: current.uuid, name: current.name, steps: current.steps, extra: current.extra }, patch);
    const v = validate(patched);
    const changes: DeployTemplateChanges = {};
    if (v.name !== current.name) changes.name = v.name;
    if (JSON.stringify(v.extra) !== JSON.stringify(current.extra)) changes.extra = v.extra;
    if (JSON.stringify(v.steps) !== JSON.stringify(current.steps)) changes.steps = v.steps;
    if (Object.keys(changes).length > 0) {
      await write(ctx, req, 'deploytemplate', current.uuid, { type: 'UpdateDeployTemplate', data: { uuid: current.uuid, at: nowOf(ctx), changes } });
    }
    return deployTemplateJson(req, (await templates.get(current.uuid)) ?? current);
  });

  app.delete('/v1/deploy_templates/:template_ident', { schema: { tags, summary: 'Delete a deploy template: 204' } }, async (req, reply) => {
    writeGate(req);
    rejectUnexpected(queryOf(req), []);
    const d = await load(req);
    await write(ctx, req, 'deploytemplate', d.uuid, { type: 'DeleteDeployTemplate', data: { uuid: d.uuid, at: nowOf(ctx) } });
    return reply.code(204).send();
  });
};
