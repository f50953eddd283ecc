// JSON Schema (for the OpenAPI document) derived from io-ts codecs, so a body has ONE definition:
// the io-ts codec that decodes it. Route schemas are documentation only: validation is io-ts's,
// with Ironic's messages (the app's validator compiler accepts everything).

import type * as t from 'io-ts';

export type JsonSchema = Record<string, unknown>;

type Tagged = t.Mixed & {
  _tag?: string;
  props?: Record<string, t.Mixed>;
  type?: t.Mixed;
  types?: t.Mixed[];
  value?: unknown;
  keys?: Record<string, unknown>;
  domain?: t.Mixed;
  codomain?: t.Mixed;
};

const objectOf = (props: Record<string, t.Mixed>, required: boolean): JsonSchema => {
  const properties: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(props)) properties[k] = jsonSchemaOf(v);
  return required
    ? { type: 'object', properties, required: Object.keys(props) }
    : { type: 'object', properties };
};

export const jsonSchemaOf = (codec: t.Mixed): JsonSchema => {
  const c = codec as Tagged;
  switch (c._tag) {
    case 'StringType':
      return { type: 'string' };
    case 'NumberType':
      return { type: 'number' };
    case 'BooleanType':
      return { type: 'boolean' };
    case 'NullType':
      return { type: 'null' };
    case 'UnknownType':
    case 'AnyType':
      return {};
    case 'LiteralType':
      return { enum: [c.value] };
    case 'KeyofType':
      return { type: 'string', enum: Object.keys(c.keys ?? {}) };
    case 'ArrayType':
    case 'ReadonlyArrayType':
      return { type: 'array', items: jsonSchemaOf(c.type!) };
    case 'AnyArrayType':
      return { type: 'array' };
    case 'AnyDictionaryType':
    case 'ObjectType':
      return { type: 'object' };
    case 'DictionaryType':
      return { type: 'object', additionalProperties: jsonSchemaOf(c.codomain!) };
    case 'InterfaceType':
      return objectOf(c.props ?? {}, true);
    case 'PartialType':
      return objectOf(c.props ?? {}, false);
    case 'ExactType':
    case 'StrictType': {
      const inner = jsonSchemaOf(c.type ?? (c as t.Mixed));
      return { ...inner, additionalProperties: false };
    }
    case 'ReadonlyType':
    case 'RefinementType':
      return { ...jsonSchemaOf(c.type!), ...(c.name && !c.name.includes('{') ? { description: c.name } : {}) };
    case 'UnionType': {
      const types = (c.types ?? []).map(jsonSchemaOf);
      const nullable = types.some((s) => s.type === 'null');
      const rest = types.filter((s) => s.type !== 'null');
      if (nullable && rest.length === 1) return { ...rest[0], nullable: true };
      return { anyOf: types };
    }
    case 'IntersectionType': {
      const parts = (c.types ?? []).map(jsonSchemaOf);
      if (parts.every((p) => p.type === 'object')) {
        const properties = Object.assign({}, ...parts.map((p) => p.properties as object));
        const required = parts.flatMap((p) => (p.required as string[] | undefined) ?? []);
        return required.length ? { type: 'object', properties, required } : { type: 'object', properties };
      }
      return { allOf: parts };
    }
    default:
      return { description: c.name };
  }
};
