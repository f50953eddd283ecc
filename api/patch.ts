// JSON-patch (RFC 6902) with Ironic's rules (reference §3.2 "PATCH semantics", ironic's
// args.patch and api utils): ops limited to add/replace/remove on paths of word characters;
// only the resource's allowed top-level fields; `add` of a new root key refused; ops applied one
// at a time so the failing op is named: `Couldn't apply patch '<op>'. Reason: ...`.

import jsonpatch from 'fast-json-patch';
import { clientError } from './http-errors.ts';
import { pyRepr } from './pyjson.ts';

export interface PatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

const pathPattern = /^(\/[\p{L}\p{N}_-]+)+$/u;
const ops = ['add', 'replace', 'remove'];

const schemaError = (message: string): never => {
  throw clientError(`Schema error for patch: ${message}`);
};

/** ironic.common.args.patch: the body must be a list of {op, path[, value]}. */
export const validatePatchDocument = (body: unknown): PatchOp[] => {
  if (!Array.isArray(body)) return schemaError(`${pyRepr(body)} is not of type 'array'`);
  for (const item of body) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return schemaError(`${pyRepr(item)} is not of type 'object'`);
    const o = item as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => !['op', 'path', 'value'].includes(k));
    if (extra.length) {
      return schemaError(`Additional properties are not allowed (${extra.map(pyRepr).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
    }
    if (!('op' in o)) return schemaError(`'op' is a required property`);
    if (!('path' in o)) return schemaError(`'path' is a required property`);
    if (typeof o.path !== 'string') return schemaError(`${pyRepr(o.path)} is not of type 'string'`);
    if (!pathPattern.test(o.path)) return schemaError(`${pyRepr(o.path)} does not match '^(/[\\\\w-]+)+$'`);
    if (typeof o.op !== 'string' || !ops.includes(o.op)) return schemaError(`${pyRepr(o.op)} is not one of ['add', 'replace', 'remove']`);
  }
  return body as PatchOp[];
};

/** patch_validate_allowed_fields: returns the top-level fields the patch touches. */
export const checkAllowedPaths = (patch: readonly PatchOp[], allowed: readonly string[]): Set<string> => {
  const fields = new Set<string>();
  for (const p of patch) {
    const top = p.path.split('/')[1]!;
    if (!allowed.includes(top)) throw clientError(`Cannot patch ${p.path}. Only the following can be updated: ${allowed.join(', ')}`);
    fields.add(top);
  }
  return fields;
};

const opRepr = (op: PatchOp): string => pyRepr(op);

const reasonOf = (op: PatchOp, e: unknown): string => {
  const name = (e as { name?: string }).name;
  const last = op.path.split('/').pop() ?? '';
  switch (name) {
    case 'OPERATION_PATH_UNRESOLVABLE':
      return op.op === 'remove' || op.op === 'replace'
        ? `can't ${op.op} a non-existent object '${last}'`
        : `member '${last}' not found`;
    case 'OPERATION_PATH_CANNOT_ADD':
      return `can't add to a non-existent object '${last}'`;
    case 'OPERATION_VALUE_REQUIRED':
    case 'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED':
      return `The operation does not contain a 'value' member`;
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
    case 'OPERATION_VALUE_OUT_OF_BOUNDS':
      return `can't ${op.op} outside of list`;
    default:
      return e instanceof Error ? e.message : String(e);
  }
};

/** apply_jsonpatch: returns the patched copy of `doc`; `doc` itself is not modified. */
export const applyPatch = <T extends Record<string, unknown>>(doc: T, patch: readonly PatchOp[]): T => {
  for (const p of patch) {
    if (p.op === 'add' && p.path.split('/').length === 2 && !(p.path.slice(1) in doc)) {
      throw clientError(`Adding a new attribute (${p.path}) to the root of the resource is not allowed`);
    }
  }
  let current: T = jsonpatch.deepClone(doc) as T;
  for (const p of patch) {
    try {
      current = jsonpatch.applyOperation(current, { ...p } as jsonpatch.Operation, true, true, true).newDocument;
    } catch (e) {
      throw clientError(`Couldn't apply patch '${opRepr(p)}'. Reason: ${reasonOf(p, e)}`, 400, 'PatchError');
    }
  }
  return current;
};

/** The top-level fields whose value differs after the patch. */
export const changedFields = (before: Record<string, unknown>, after: Record<string, unknown>, fields: Iterable<string>): string[] =>
  [...fields].filter((f) => JSON.stringify(before[f] ?? null) !== JSON.stringify(after[f] ?? null));
