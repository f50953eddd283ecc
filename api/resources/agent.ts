// The ramdisk agent's endpoints (reference §7.1–7.2), public as in Ironic (no login; the agent
// proves itself with its token):
//   GET  /v1/lookup?addresses=<mac,...>&node_uuid=<uuid>   (≥1.22)
//   POST /v1/heartbeat/{node}                               (≥1.22) → 202
// Lookup finds the node by UUID or by its ports' MACs (only in LOOKUP_ALLOWED states unless
// restrict_lookup is off). At ≥1.62 the node's owning conductor issues the agent token the first
// time (`IssueAgentToken`, the token sealed in the log): that answer is the only one that ever
// shows it, later lookups get "******". A heartbeat is checked here as Ironic's API and
// conductor check it (callback_url, token present and equal to the node's, in constant time)
// and forwarded to the owning conductor (`Conductors.heartbeat`, the `heartbeat` action over NATS),
// which records it and continues a deploy or clean waiting for an agent-driven interface
// (conductor/executor/agent-heartbeat.ts); without that, it is recorded as `RecordAgentHeartbeat`.
// In other states the heartbeat is accepted and ignored, as Ironic's HeartbeatMixin ignores it.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isMac, normaliseMac } from '../../domain/mac.ts';
import type { NodeCommand } from '../../domain/node/commands.ts';
import { HEARTBEAT_ALLOWED_STATES, LOOKUP_ALLOWED_STATES } from '../../domain/provision/states.ts';
import { isSealed, SECRET_MASK } from '../../domain/secrets.ts';
import type { ResourceOptions } from '../app.ts';
import { canonicalUuid, queryOf, rejectUnexpected, stringArg, uuidArg } from '../collection.ts';
import type { CommandMeta, NodeView } from '../deps.ts';
import { clientError, fromDomainError, notFound } from '../http-errors.ts';
import { allows, requireVersion } from '../plugins/versions.ts';
import { commandMeta, nowOf, placementOf, requireOwner, waitForWrite } from './common.ts';
import { nodeJson, type NodeJsonContext } from './node-json.ts';
import { nodeLookup } from './node-lookup.ts';
import { argsBody } from './node-states.ts';

const tags = ['agent'];
const LOOKUP_FIELDS = ['uuid', 'properties', 'instance_info', 'driver_internal_info'];
const AGENT_STATUSES = ['start', 'end', 'error'];
/** what an agent older than agent_version reporting is assumed to be (Ironic's default) */
const OLDEST_AGENT = '3.0.0';

/** api utils allow_* gates */
const RAMDISK_ENDPOINTS = 22;
const AGENT_VERSION_IN_HEARTBEAT = 36;
const AGENT_TOKEN = 62;
const VERIFY_CA_IN_HEARTBEAT = 68;
const STATUS_IN_HEARTBEAT = 72;

/** Commands the agent's requests cause are the agent's, not a user's. */
const agentMeta = (req: FastifyRequest): CommandMeta => ({ ...commandMeta(req), actor: 'agent' });

/** Constant-time comparison of the token the agent sent with the node's (sealed) one. */
const tokenMatches = (open: (s: { $secret: string }) => string, stored: unknown, sent: string): boolean => {
  if (!isSealed(stored)) return false;
  const a = Buffer.from(open(stored), 'utf8');
  const b = Buffer.from(sent, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
};

export const agentRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const nodes = deps.readModels.nodes;
  const lookup = nodeLookup(nodes);
  const jsonCtx: NodeJsonContext = { conductorFor: (n) => deps.conductors.ownerOf(placementOf(n)) };

  /** get_topic_for: NoValidHost is re-coded to 400 on these endpoints */
  const ownerOrFail = (node: NodeView): void => requireOwner(ctx, placementOf(node));

  const send = async (req: FastifyRequest, node: NodeView, command: NodeCommand) =>
    deps.conductors.request(placementOf(node), command, agentMeta(req));

  /** Objects.Node.get_by_port_addresses: exactly one node owns the MACs, or not found. */
  const nodeByAddresses = async (macs: string[]): Promise<NodeView | undefined> => {
    const owners = new Set<string>();
    for (const address of macs) {
      const ports = await deps.readModels.ports.list({ limit: 2, sortKey: 'id', sortDir: 'asc', filters: { address } });
      if (E.isRight(ports)) for (const p of ports.right) owners.add(p.node_uuid);
    }
    if (owners.size !== 1) return undefined;
    return nodes.get([...owners][0]!);
  };

  app.get(
    '/v1/lookup',
    {
      schema: {
        tags,
        summary: 'The agent looks its node up by MACs or UUID (≥1.22, no login); ≥1.62 issues the agent token once',
        security: [],
        querystring: { type: 'object', properties: { addresses: { type: 'string', description: 'comma-separated MACs' }, node_uuid: { type: 'string', format: 'uuid' } } },
      },
    },
    async (req) => {
      requireVersion(req, RAMDISK_ENDPOINTS, 'not-found');
      const query = queryOf(req);
      rejectUnexpected(query, ['addresses', 'node_uuid']);
      const addresses = (stringArg(query, 'addresses') ?? '')
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== '');
      const nodeUuid = uuidArg(query, 'node_uuid');
      // invalid MACs are ignored (Ironic logs them)
      const macs = [...new Set(addresses.filter(isMac).map(normaliseMac))];
      if (macs.length === 0 && nodeUuid === undefined) {
        throw clientError("At least one of 'addresses' and 'node_uuid' parameters is required", 400, 'IncompleteLookup');
      }
      let node = nodeUuid !== undefined ? await nodes.get(canonicalUuid(nodeUuid)) : await nodeByAddresses(macs);
      // the same answer for "no such node" and "not in a lookup state": nothing is disclosed
      if (!node) throw notFound();
      if (config.restrictLookup && !LOOKUP_ALLOWED_STATES.has(node.provision_state)) {
        req.log.warn({ node: node.uuid, provision_state: node.provision_state }, 'lookup refused: node not in a lookup state');
        throw notFound();
      }

      let token: string | null = node.driver_internal_info.agent_secret_token !== undefined ? SECRET_MASK : null;
      if (allows(req, AGENT_TOKEN)) {
        ownerOrFail(node);
        if (node.driver_internal_info.agent_secret_token === undefined) {
          // the owning conductor records the token (sealed); this answer is the only one to carry it
          const fresh = randomBytes(32).toString('base64url');
          const issued = await send(req, node, {
            type: 'IssueAgentToken',
            data: { uuid: node.uuid, at: nowOf(ctx), token: deps.secrets.seal(fresh), pregenerated: false },
          });
          if (E.isLeft(issued)) {
            // another lookup won the race: its agent has the token
            if (issued.left.errorClass !== 'InvalidState') throw fromDomainError(issued.left);
            token = SECRET_MASK;
          } else {
            await waitForWrite(ctx, req, issued.right.position);
            token = fresh;
          }
          node = (await nodes.get(node.uuid)) ?? node;
        } else token = SECRET_MASK;
      }
      return {
        node: nodeJson(req, node, LOOKUP_FIELDS, jsonCtx),
        config: {
          metrics: { backend: 'noop', prepend_host: false, prepend_uuid: false, prepend_host_reverse: true, global_prefix: null },
          metrics_statsd: { statsd_host: 'localhost', statsd_port: 8125 },
          heartbeat_timeout: config.ramdiskHeartbeatTimeout,
          agent_token: token,
          agent_token_required: true,
          disable_deep_image_inspection: false,
          permitted_image_formats: ['raw', 'qcow2', 'iso'],
          enable_bios_bootloader_install: false,
        },
      };
    },
  );

  app.post(
    '/v1/heartbeat/:node_ident',
    {
      schema: {
        tags,
        summary: "The agent's heartbeat (≥1.22, no login, agent token required): 202",
        security: [],
        body: {
          type: 'object',
          required: ['callback_url'],
          properties: {
            callback_url: { type: 'string', description: "the agent's API, e.g. http://10.0.0.5:9999" },
            agent_token: { type: 'string', description: 'required (the token lookup issued)' },
            agent_version: { type: 'string', description: '≥1.36' },
            agent_verify_ca: { type: 'string', description: '≥1.68' },
            agent_status: { type: 'string', enum: AGENT_STATUSES, description: '≥1.72' },
            agent_status_message: { type: 'string', description: '≥1.72' },
          },
        },
      },
    },
    async (req, reply) => {
      requireVersion(req, RAMDISK_ENDPOINTS, 'not-found');
      rejectUnexpected(queryOf(req), []);
      const body = argsBody(req, ['callback_url', 'agent_token', 'agent_version', 'agent_verify_ca', 'agent_status', 'agent_status_message']);
      const str = (name: string): string | undefined => {
        const v = body[name];
        if (v === undefined || v === null) return undefined;
        if (typeof v !== 'string') throw clientError(`Expected string for ${name}: ${JSON.stringify(v)}`);
        return v;
      };
      const callbackUrl = str('callback_url');
      if (callbackUrl === undefined) throw clientError('Missing argument: "callback_url"');
      const agentToken = str('agent_token');
      const agentVersion = str('agent_version');
      const verifyCa = str('agent_verify_ca');
      const status = str('agent_status');
      const statusMessage = str('agent_status_message');
      if (agentVersion && !allows(req, AGENT_VERSION_IN_HEARTBEAT)) throw clientError('Field "agent_version" not recognised', 400, 'InvalidParameterValue');
      if ((status || statusMessage) && !allows(req, STATUS_IN_HEARTBEAT)) {
        throw clientError('Fields "agent_status" and "agent_status_message" not recognised.', 400, 'InvalidParameterValue');
      }
      if (verifyCa !== undefined && !allows(req, VERIFY_CA_IN_HEARTBEAT)) {
        throw clientError('Field "agent_verify_ca" not recognised in this version', 400, 'InvalidParameterValue');
      }
      const node = await lookup.resolve(req, lookup.identOf(req));

      let url: URL | undefined;
      try {
        url = new URL(callbackUrl);
      } catch {
        url = undefined;
      }
      // the anaconda deploy sends an empty callback_url: a one-way heartbeat
      if (callbackUrl !== '' && (!url || !url.protocol.startsWith('http'))) {
        throw clientError('An issue with the supplied "callback_url" has been detected.', 400, 'InvalidParameterValue');
      }
      const known = node.driver_internal_info.agent_url;
      if (typeof known === 'string' && known !== callbackUrl) throw clientError('Detected change in ramdisk provided "callback_url"');
      if (agentToken === undefined) {
        req.log.warn({ node: node.uuid }, 'agent heartbeat without an agent token');
        throw clientError('Agent token is required for heartbeat processing.', 400, 'InvalidParameterValue');
      }
      if (status !== undefined && !AGENT_STATUSES.includes(status)) {
        throw clientError(`Agent status is invalid. Valid states are ${AGENT_STATUSES.join(',')}.`, 400, 'InvalidParameterValue');
      }
      ownerOrFail(node);
      // the conductor's "token line of defense" (utils.is_agent_token_valid)
      if (!tokenMatches((s) => deps.secrets.open(s), node.driver_internal_info.agent_secret_token, agentToken)) {
        req.log.warn({ node: node.uuid }, 'agent heartbeat with an invalid agent token');
        throw clientError('Invalid or missing agent token received.', 400, 'InvalidParameterValue');
      }
      // the owner judges the state on its fresh view when it takes heartbeats; the read model may lag
      if (!deps.conductors.heartbeat && !HEARTBEAT_ALLOWED_STATES.has(node.provision_state)) {
        // Ironic's HeartbeatMixin: nothing to do in this state; the heartbeat is accepted and dropped
        req.log.info({ node: node.uuid, provision_state: node.provision_state }, 'heartbeat in a state that takes none; ignored');
        return reply.code(202).send();
      }
      const heartbeat = { agent_url: callbackUrl, agent_version: agentVersion ?? OLDEST_AGENT, ...(verifyCa !== undefined ? { agent_verify_ca: verifyCa } : {}) };
      // the owner records it and continues a deploy/clean waiting for the agent (Ironic's heartbeat RPC)
      const recorded = deps.conductors.heartbeat
        ? await deps.conductors.heartbeat(placementOf(node), heartbeat, agentMeta(req))
        : await send(req, node, { type: 'RecordAgentHeartbeat', data: { uuid: node.uuid, at: nowOf(ctx), ...heartbeat } });
      if (E.isLeft(recorded)) {
        // a node busy with another task skips this heartbeat (the agent heartbeats again)
        if (recorded.left.errorClass === 'NodeLocked') {
          req.log.info({ node: node.uuid }, 'node locked: heartbeat skipped');
          return reply.code(202).send();
        }
        throw fromDomainError(recorded.left);
      }
      await waitForWrite(ctx, req, recorded.right.position);
      return reply.code(202).send();
    },
  );
};
