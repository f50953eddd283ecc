// Request bodies: decoded with io-ts (the one definition of each body), refused with Ironic's
// "Schema error for <what>: ..." messages (ironic.common.args.schema uses jsonschema's wording).

import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { clientError } from './http-errors.ts';
import { pyRepr } from './pyjson.ts';

/** The body as Ironic's method.body sees it: no body is `{}`. */
export const bodyOf = (body: unknown): unknown => (body === undefined ? {} : body);

const describe = (err: t.ValidationError): string => {
  if (err.message) return err.message;
  const keys = err.context.map((c) => c.key).filter((k) => k !== '');
  const last = err.context[err.context.length - 1];
  const expected = last ? last.type.name : 'a valid value';
  if (err.value === undefined && keys.length) return `'${keys[keys.length - 1]}' is a required property`;
  const where = keys.length ? ` for ${keys.join('/')}` : '';
  return `${pyRepr(err.value)} is not valid${where}: expected ${expected}`;
};

/** Decodes or throws 400 `Schema error for <what>: ...`. */
export const decodeBody = <A, O>(codec: t.Type<A, O, unknown>, value: unknown, what: string): A => {
  const r = codec.decode(value);
  if (E.isRight(r)) return r.right;
  throw clientError(`Schema error for ${what}: ${describe(r.left[0]!)}`);
};

/** jsonschema's additionalProperties: false, with its message. */
export const refuseUnknownKeys = (value: unknown, allowed: readonly string[], what: string): void => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw clientError(`Schema error for ${what}: ${pyRepr(value)} is not of type 'object'`);
  }
  const extra = Object.keys(value).filter((k) => !allowed.includes(k));
  if (extra.length === 1) throw clientError(`Schema error for ${what}: Additional properties are not allowed (${pyRepr(extra[0])} was unexpected)`);
  if (extra.length > 1) {
    throw clientError(`Schema error for ${what}: Additional properties are not allowed (${extra.map(pyRepr).join(', ')} were unexpected)`);
  }
};
