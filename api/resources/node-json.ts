// A node on the wire (reference §3.2; ironic node_convert_with_links + node_sanitize): Ironic's
// key order (uuid, created_at, updated_at, the object fields alphabetically, links, then the
// API-computed conductor / allocation_uuid / chassis_uuid and the sub-resource links), `{}`/`[]`
// for empty dicts/lists, secrets masked as "******", fields newer than the requested version
// removed, and old state names for old versions.

import type { FastifyRequest } from 'fastify';
import { hasSanitizeKey, isPasswordLikeKey, SANITIZE_KEY_PATTERNS } from '../../domain/secrets.ts';
import { checkInvalidFields, hideVersionedFields, sanitize, type VersionedFields } from '../collection.ts';
import { revisionOf, type NodeRowView, type NodeView } from '../deps.ts';
import { clientError } from '../http-errors.ts';
import { allows } from '../plugins/versions.ts';
import { selfAndBookmark } from '../url.ts';

/** _get_fields_for_node_query's valid_fields: the node object's fields, in Ironic's order. */
export const nodeObjectFields = [
  'automated_clean', 'bios_interface', 'boot_interface', 'boot_mode', 'clean_step', 'conductor_group',
  'console_enabled', 'console_interface', 'deploy_interface', 'deploy_step', 'description', 'driver',
  'driver_info', 'driver_internal_info', 'extra', 'fault', 'inspection_finished_at', 'inspection_started_at',
  'inspect_interface', 'instance_info', 'instance_uuid', 'last_error', 'lessee', 'maintenance',
  'maintenance_reason', 'management_interface', 'name', 'network_data', 'network_interface', 'owner',
  'power_interface', 'power_state', 'properties', 'protected', 'protected_reason', 'provision_state',
  'provision_updated_at', 'raid_config', 'raid_interface', 'rescue_interface', 'reservation', 'resource_class',
  'retired', 'retired_reason', 'secure_boot', 'shard', 'storage_interface', 'target_power_state',
  'target_provision_state', 'target_raid_config', 'traits', 'vendor_interface',
] as const;

const apiFulfilled = ['allocation_uuid', 'chassis_uuid', 'conductor'];
const queryFields = new Set<string>(['uuid', 'traits', ...apiFulfilled, ...nodeObjectFields]);

const dictFields = new Set(['clean_step', 'deploy_step', 'driver_info', 'driver_internal_info', 'extra', 'instance_info', 'network_data', 'properties', 'raid_config', 'target_raid_config']);

/** api utils VERSIONED_FIELDS (plus the 1.31 interface fields). */
export const nodeVersionedFields: VersionedFields = {
  driver_internal_info: 3,
  name: 5,
  inspection_finished_at: 6,
  inspection_started_at: 6,
  clean_step: 7,
  raid_config: 12,
  target_raid_config: 12,
  network_interface: 20,
  resource_class: 21,
  storage_interface: 33,
  traits: 37,
  rescue_interface: 38,
  bios_interface: 40,
  fault: 42,
  deploy_step: 44,
  conductor_group: 46,
  automated_clean: 47,
  protected: 48,
  protected_reason: 48,
  conductor: 49,
  owner: 50,
  description: 51,
  allocation_uuid: 52,
  events: 54,
  retired: 61,
  retired_reason: 61,
  lessee: 65,
  network_data: 66,
  boot_mode: 75,
  secure_boot: 75,
  shard: 82,
  boot_interface: 31,
  console_interface: 31,
  deploy_interface: 31,
  inspect_interface: 31,
  management_interface: 31,
  power_interface: 31,
  raid_interface: 31,
  vendor_interface: 31,
};

export const MASK = '******';

// oslo.utils strutils._SANITIZE_KEYS (domain/secrets.ts): a key containing any of them is secret
const isSecretKey = isPasswordLikeKey;

// strutils.mask_password, for secrets written inside string values ("password=x", "--password x"):
// three patterns per key, compiled once (replace() starts a global regex over at 0 every time)
const inStringPatterns: readonly RegExp[] = SANITIZE_KEY_PATTERNS.flatMap((k) => [
  new RegExp(`(${k}\\s*[=:]\\s*["']?)[^"'\\s,&]+`, 'gi'),
  new RegExp(`(--${k}\\s+)\\S+`, 'gi'),
  new RegExp(`(["']${k}["']\\s*:\\s*["'])[^"']*`, 'gi'),
]);
const maskInString = (s: string): string => {
  if (!hasSanitizeKey(s.toLowerCase())) return s;
  let out = s;
  for (const re of inStringPatterns) out = out.replace(re, `$1${MASK}`);
  return out;
};

/** strutils.mask_dict_password(dict, "******"): recursive, by key, and inside strings. */
export const maskSecrets = (dict: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(dict)) {
    const v = dict[k];
    // a value sealed by the domain ({"$secret": "v1:..."}) is a secret whatever its key
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && '$secret' in v && Object.keys(v).length === 1) out[k] = MASK;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) out[k] = maskSecrets(v as Record<string, unknown>);
    else if (isSecretKey(k)) out[k] = MASK;
    else out[k] = typeof v === 'string' ? maskInString(v) : v;
  }
  return out;
};

export interface NodeJsonContext {
  /** the conductor that owns the node on the hash ring, or null */
  conductorFor: (node: Pick<NodeView, 'uuid' | 'conductor_group' | 'driver'>) => string | null;
}

/**
 * Refuses unknown `fields` before the query, as _get_fields_for_node_query does
 * ("Field X is not a valid field.").
 */
export const checkNodeQueryFields = (fields: readonly string[] | undefined): void => {
  if (!fields) return;
  for (const f of fields) if (!queryFields.has(f)) throw clientError(`Field ${f} is not a valid field.`);
};

const linkPair = (base: string, uuid: string, sub: string) => selfAndBookmark(base, 'nodes', `${uuid}/${sub}`);

/** node_convert_with_links + node_sanitize for one node. `fields` undefined = the full object. */
export const nodeJson = (req: FastifyRequest, node: NodeView, fields: readonly string[] | undefined, ctx: NodeJsonContext): Record<string, unknown> => {
  const base = req.baseUrl;
  const view = node as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { uuid: node.uuid, created_at: node.created_at, updated_at: node.updated_at };
  const objectFields = fields ? fields.filter((f) => !apiFulfilled.includes(f)) : nodeObjectFields;
  for (const f of objectFields) {
    if (f === 'uuid' || f === 'created_at' || f === 'updated_at') continue;
    const v = view[f];
    out[f] = v === undefined || v === null ? (dictFields.has(f) ? {} : f === 'traits' ? [] : null) : v;
  }
  out.links = selfAndBookmark(base, 'nodes', node.uuid);
  if (allows(req, 49) && (!fields || fields.includes('conductor'))) out.conductor = ctx.conductorFor(node);
  if (allows(req, 52) && (!fields || fields.includes('allocation_uuid'))) out.allocation_uuid = node.allocation_uuid ?? null;
  if (!fields || fields.includes('chassis_uuid')) out.chassis_uuid = node.chassis_uuid ?? null;
  if (fields) checkInvalidFields(fields, Object.keys(out));
  if (!fields) {
    out.ports = linkPair(base, node.uuid, 'ports');
    if (allows(req, 14)) out.states = linkPair(base, node.uuid, 'states');
    if (allows(req, 24)) out.portgroups = linkPair(base, node.uuid, 'portgroups');
    if (allows(req, 32)) out.volume = linkPair(base, node.uuid, 'volume');
  }
  return sanitizeNode(req, out, fields);
};

/** node_sanitize: keep the requested fields, mask secrets, old state names, version hiding. */
export const sanitizeNode = (req: FastifyRequest, node: Record<string, unknown>, fields: readonly string[] | undefined): Record<string, unknown> => {
  sanitize(node, fields);
  if ('driver_info' in node) node.driver_info = maskSecrets((node.driver_info ?? {}) as Record<string, unknown>);
  if ('instance_info' in node) {
    const ii = maskSecrets((node.instance_info ?? {}) as Record<string, unknown>);
    if (ii.configdrive) ii.configdrive = MASK;
    if (ii.image_url) ii.image_url = MASK;
    node.instance_info = ii;
  }
  const dii = node.driver_internal_info as Record<string, unknown> | undefined;
  if (dii && dii.agent_secret_token) node.driver_internal_info = { ...dii, agent_secret_token: MASK };
  if ('provision_state' in node) {
    if (!allows(req, 2) && node.provision_state === 'available') node.provision_state = null;
    if (!allows(req, 39) && node.provision_state === 'inspect wait') node.provision_state = 'inspecting';
  }
  return hideVersionedFields(req, node, nodeVersionedFields);
};

/**
 * Full node renders (show, detail lists), encoded once per node content, request base URL,
 * microversion and owning conductor, and reused while the node does not change: a detail list
 * of 500 nodes then costs the read and a concatenation instead of 500 renders and a 1.2 MB
 * JSON encoding. Keyed by the read-model revision (deps.ts NODE_REVISION); a node without one
 * is rendered every time, and a node's older revisions are dropped once a newer one is rendered.
 * Bounded: the nodes rendered longest ago go first.
 *
 * The owning conductor is not in the key: a revision fixes the node's driver and group, so each
 * entry keeps that placement and the conductor it was rendered with, and is reused only while
 * the ring still gives that conductor. A list row then needs only (uuid, revision), which the
 * read model reads without touching the stored document.
 */
const render = (req: FastifyRequest, node: NodeView, ctx: NodeJsonContext): Buffer => Buffer.from(JSON.stringify(nodeJson(req, node, undefined, ctx)), 'utf8');

interface Entry {
  revision: number;
  minor: number;
  baseUrl: string;
  bytes: Buffer;
  placement: Pick<NodeView, 'uuid' | 'conductor_group' | 'driver'>;
  conductor: string | null;
}

export class NodeRenderCache {
  /** node uuid → its renders (one per microversion and base URL asked, of its latest revision seen) */
  private readonly byNode = new Map<string, Entry[]>();
  private count = 0;
  /** the last list body and the renders it was made of: the same renders again give the same bytes */
  private lastList: { parts: readonly Buffer[]; next: string | undefined; plural: string; body: Buffer } | undefined;
  constructor(private readonly maxEntries = 2048) {}

  /** JSON of the full node (nodeJson with no `fields`), as UTF-8 bytes */
  full(req: FastifyRequest, node: NodeView, ctx: NodeJsonContext): Buffer {
    const revision = revisionOf(node);
    if (revision === undefined) return render(req, node, ctx);
    const hit = this.hit(req, node.uuid, revision, ctx);
    if (hit) return hit;
    const placement = { uuid: node.uuid, conductor_group: node.conductor_group, driver: node.driver };
    const entry: Entry = { revision, minor: req.apiVersion.minor, baseUrl: req.baseUrl, bytes: render(req, node, ctx), placement, conductor: ctx.conductorFor(placement) };
    const old = this.byNode.get(node.uuid) ?? [];
    // older revisions (and this one's stale render, if the ring moved the node) are dropped
    const kept = old.filter((e) => e.revision > revision || (e.revision === revision && (e.minor !== entry.minor || e.baseUrl !== entry.baseUrl)));
    if (kept.some((e) => e.revision > revision)) return entry.bytes; // rendered from an older read: not kept
    kept.push(entry);
    this.count += kept.length - old.length;
    this.byNode.delete(node.uuid);
    this.byNode.set(node.uuid, kept);
    while (this.count > this.maxEntries) {
      const [oldest, renders] = this.byNode.entries().next().value!;
      this.byNode.delete(oldest);
      this.count -= renders.length;
    }
    return entry.bytes;
  }

  /**
   * The same render for a list row: its document is read only when the cache has no render of
   * this revision. undefined: the node is gone meanwhile (another process writes the read models).
   */
  fullRow(req: FastifyRequest, row: NodeRowView, ctx: NodeJsonContext): Buffer | undefined {
    const hit = this.hit(req, row.uuid, row.revision, ctx);
    if (hit) return hit;
    const node = row.node();
    return node && this.full(req, node, ctx);
  }

  /** `{"nodes":[...]}` of these renders: the previous body again when it was made of the very same renders */
  list(plural: string, parts: readonly Buffer[], next: string | undefined): Buffer {
    const last = this.lastList;
    if (last && last.plural === plural && last.next === next && last.parts.length === parts.length && last.parts.every((b, i) => b === parts[i])) return last.body;
    const body = listBody(plural, parts, next);
    this.lastList = { parts, next, plural, body };
    return body;
  }

  private hit(req: FastifyRequest, uuid: string, revision: number, ctx: NodeJsonContext): Buffer | undefined {
    const renders = this.byNode.get(uuid);
    if (!renders) return undefined;
    const minor = req.apiVersion.minor;
    const base = req.baseUrl;
    for (const e of renders) {
      if (e.revision === revision && e.minor === minor && e.baseUrl === base) return ctx.conductorFor(e.placement) === e.conductor ? e.bytes : undefined;
    }
    return undefined;
  }

  get size(): number {
    return this.count;
  }
}

const LIST_OPEN = (plural: string) => Buffer.from(`{"${plural}":[`);
const COMMA = Buffer.from(',');

/** `{"<plural>":[a,b,...](,"next":"...")?}`, byte for byte what JSON.stringify(envelope(...)) gives. */
export const listBody = (plural: string, items: readonly Buffer[], next: string | undefined): Buffer => {
  const parts: Buffer[] = [LIST_OPEN(plural)];
  items.forEach((b, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(b);
  });
  parts.push(Buffer.from(next === undefined ? ']}' : `],"next":${JSON.stringify(next)}}`));
  return Buffer.concat(parts);
};
