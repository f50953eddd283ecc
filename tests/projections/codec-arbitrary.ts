// fast-check arbitraries made from an io-ts codec's own structure (type, partial, intersection,
// union, literal, keyof, array, record and the scalars), for property tests over every event of
// the domain. Custom codecs (sealed secrets, dicts) get what they accept, and sometimes not.

import fc from 'fast-check';

export interface CodecNode {
  _tag?: string;
  name: string;
  props?: Record<string, CodecNode>;
  types?: CodecNode[];
  type?: CodecNode;
  value?: unknown;
  keys?: Record<string, unknown>;
  codomain?: CodecNode;
  is: (u: unknown) => boolean;
}

export const sealed = fc.stringMatching(/^[A-Za-z0-9+/]{4,16}$/).map((s) => ({ $secret: `v1:${s}` }));
export const json = fc.jsonValue({ maxDepth: 2 });
const plainDict = fc.dictionary(fc.constantFrom('a', 'b', 'cpus', 'ipmi_address', 'image_source', 'vendor', 'password', 'agent_url'), fc.oneof(json, sealed), { maxKeys: 4 });

/** Values of a codec's type, made from its structure (custom types: what they accept, mostly). */
const arbitraries = new Map<CodecNode, fc.Arbitrary<unknown>>();
export const arbitraryOf = (c: CodecNode): fc.Arbitrary<unknown> => {
  const known = arbitraries.get(c);
  if (known) return known;
  const made = ((): fc.Arbitrary<unknown> => {
    switch (c._tag) {
      case 'InterfaceType':
        return fc.record(Object.fromEntries(Object.entries(c.props!).map(([k, p]) => [k, arbitraryOf(p)])));
      case 'PartialType':
        return fc.record(Object.fromEntries(Object.entries(c.props!).map(([k, p]) => [k, arbitraryOf(p)])), { requiredKeys: [] });
      case 'IntersectionType':
        return fc.tuple(...c.types!.map(arbitraryOf)).map((parts) => Object.assign({}, ...(parts as object[])));
      case 'UnionType':
        return fc.oneof(...c.types!.map(arbitraryOf));
      case 'LiteralType':
        return fc.constant(c.value);
      case 'KeyofType':
        return fc.constantFrom(...Object.keys(c.keys!));
      case 'ArrayType':
        return fc.array(arbitraryOf(c.type!), { maxLength: 3 });
      case 'DictionaryType':
        return fc.dictionary(fc.string({ maxLength: 6 }), arbitraryOf(c.codomain!), { maxKeys: 3 });
      case 'StringType':
        return fc.string({ maxLength: 10 });
      case 'NumberType':
        return fc.oneof(fc.integer(), fc.double({ noNaN: true }));
      case 'BooleanType':
        return fc.boolean();
      case 'NullType':
        return fc.constant(null);
      case 'UndefinedType':
        return fc.constant(undefined);
      default:
        // custom codecs (sealed secrets, dicts, sealed dicts): what they accept, and sometimes not
        if (c.name === 'SealedSecret') return fc.oneof({ weight: 4, arbitrary: sealed }, { weight: 1, arbitrary: json });
        return fc.oneof({ weight: 4, arbitrary: plainDict }, { weight: 1, arbitrary: json });
    }
  })();
  arbitraries.set(c, made);
  return made;
};

