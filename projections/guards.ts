// io-ts type guards compiled into straight-line functions, for the rebuild's hot path (domain.ts).
//
// A codec's own `is` walks its tree through generic closures (`types[i].is(u)`: a megamorphic
// property load and call per node, every event). For the combinators the domain's events are made
// of (type, partial, intersection, union, literal, keyof, array, string, number, boolean, null,
// undefined, unknown) this generates one function per codec that performs exactly the checks
// io-ts 2.2's `is` performs, in the same order; any other codec (custom `new t.Type`, dictionaries,
// refinements...) is called through its own `is`. tests/projections/domain-decode.test.ts holds
// the projector's decoder (these guards, then the domain's decoder) to the domain decoder's answers.

import type * as t from 'io-ts';

type Guard = (u: unknown) => boolean;

interface Node {
  _tag?: string;
  props?: Record<string, Node>;
  types?: Node[];
  type?: Node;
  value?: unknown;
  keys?: Record<string, unknown>;
  is: Guard;
}

const hasOwn = Object.prototype.hasOwnProperty;

class Compiler {
  /** values and functions the generated code refers to as c[i] */
  readonly consts: unknown[] = [];
  private vars = 0;

  ref(v: unknown): string {
    this.consts.push(v);
    return `c[${this.consts.length - 1}]`;
  }

  fresh(): string {
    return `v${this.vars++}`;
  }

  /** a boolean expression testing `x` (an identifier), or undefined when the codec needs statements */
  inline(c: Node, x: string): string | undefined {
    switch (c._tag) {
      case 'StringType':
        return `typeof ${x} === "string"`;
      case 'NumberType':
        return `typeof ${x} === "number"`;
      case 'BooleanType':
        return `typeof ${x} === "boolean"`;
      case 'NullType':
        return `${x} === null`;
      case 'UndefinedType':
        return `${x} === undefined`;
      case 'UnknownType':
      case 'AnyType':
        return 'true';
      case 'LiteralType':
        return `${x} === ${this.ref(c.value)}`;
      case 'KeyofType':
        return `(typeof ${x} === "string" && hop.call(${this.ref(c.keys)}, ${x}))`;
      case 'UnionType': {
        const parts = c.types!.map((m) => this.inline(m, x));
        if (parts.every((p) => p !== undefined)) return `(${parts.join(' || ')})`;
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** a boolean expression testing `x`, calling a compiled function for composite codecs */
  test(c: Node, x: string): string {
    return this.inline(c, x) ?? `${this.ref(this.compile(c))}(${x})`;
  }

  /** statements returning false from the enclosing function when `x` is not a `c` */
  statements(c: Node, x: string, out: string[]): boolean {
    switch (c._tag) {
      case 'InterfaceType': {
        out.push(`if (${x} === null || typeof ${x} !== "object" || Array.isArray(${x})) return false;`);
        for (const [k, p] of Object.entries(c.props!)) {
          const v = this.fresh();
          const key = JSON.stringify(k);
          out.push(`var ${v} = ${x}[${key}];`, `if ((${v} === undefined && !hop.call(${x}, ${key})) || !(${this.test(p, v)})) return false;`);
        }
        return true;
      }
      case 'PartialType': {
        out.push(`if (${x} === null || typeof ${x} !== "object" || Array.isArray(${x})) return false;`);
        for (const [k, p] of Object.entries(c.props!)) {
          const v = this.fresh();
          out.push(`var ${v} = ${x}[${JSON.stringify(k)}];`, `if (${v} !== undefined && !(${this.test(p, v)})) return false;`);
        }
        return true;
      }
      case 'IntersectionType':
        // io-ts: every member's `is`, in order
        for (const m of c.types!) if (!this.statements(m, x, out)) out.push(`if (!(${this.test(m, x)})) return false;`);
        return true;
      case 'ArrayType':
        // io-ts: Array.isArray(u) && u.every(item.is) (every skips holes, as there)
        out.push(`if (!Array.isArray(${x}) || !${x}.every(${this.ref(this.compile(c.type!))})) return false;`);
        return true;
      default:
        return false;
    }
  }

  compile(c: Node): Guard {
    const inline = this.inline(c, 'u');
    if (inline === undefined && !['InterfaceType', 'PartialType', 'IntersectionType', 'ArrayType'].includes(c._tag ?? '')) {
      // a codec this compiler does not know (or a union of composites): its own guard
      if (c._tag === 'UnionType') {
        const members = c.types!.map((m) => this.compile(m));
        return (u) => members.some((g) => g(u));
      }
      return (u) => c.is(u);
    }
    const body: string[] = [];
    if (inline !== undefined) body.push(`return ${inline};`);
    else {
      this.statements(c, 'u', body);
      body.push('return true;');
    }
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the codec's structure only
    const make = new Function('c', 'hop', `return function guard(u) { ${body.join(' ')} };`) as (c: unknown[], hop: typeof hasOwn) => Guard;
    return make(this.consts, hasOwn);
  }
}

/** A guard with exactly the answers of `codec.is`, compiled for speed. */
export const compileGuard = (codec: t.Mixed): Guard => new Compiler().compile(codec as unknown as Node);
