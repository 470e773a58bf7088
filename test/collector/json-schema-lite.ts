// A small JSON Schema checker for the keywords collector/schemas/*.json use (no dependency added for tests):
// type, required, properties, additionalProperties, enum, const, items, minItems, minLength, pattern, minimum,
// maximum and local $ref. An unknown keyword is an error, so a schema cannot silently ask for more than this checks.

export type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  '$id',
  '$defs',
  '$ref',
  'title',
  'description',
  'type',
  'required',
  'properties',
  'additionalProperties',
  'enum',
  'const',
  'items',
  'minItems',
  'minLength',
  'pattern',
  'minimum',
  'maximum',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function resolve(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref: ${ref}`);
  let cur: unknown = root;
  for (const part of ref.slice(2).split('/')) cur = (cur as Record<string, unknown>)[part];
  if (typeof cur !== 'object' || cur === null) throw new Error(`unresolved $ref ${ref}`);
  return cur as Schema;
}

/** Every violation as "path: message"; empty when `value` conforms. */
export function validate(root: Schema, value: unknown, schema: Schema = root, path = '$'): string[] {
  const errors: string[] = [];
  for (const k of Object.keys(schema))
    if (!KNOWN.has(k)) throw new Error(`unsupported keyword ${k} at ${path}`);
  if (typeof schema.$ref === 'string') return validate(root, value, resolve(root, schema.$ref), path);
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((x) => x === t || (x === 'number' && t === 'integer'))) {
      return [`${path}: expected ${types.join('|')}, got ${t}`];
    }
  }
  if (schema.const !== undefined && value !== schema.const)
    errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !(schema.enum as unknown[]).includes(value))
    errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength)
      errors.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      errors.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      errors.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (typeof schema.items === 'object' && schema.items !== null) {
      value.forEach((v, i) => errors.push(...validate(root, v, schema.items as Schema, `${path}[${i}]`)));
    }
  }
  if (t === 'object') {
    const o = value as Record<string, unknown>;
    for (const r of (schema.required as string[] | undefined) ?? []) {
      if (!(r in o)) errors.push(`${path}: missing ${r}`);
    }
    const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, v] of Object.entries(o)) {
      const p = props[k];
      if (p !== undefined) errors.push(...validate(root, v, p, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected field ${k}`);
      else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null)
        errors.push(...validate(root, v, schema.additionalProperties as Schema, `${path}.${k}`));
    }
  }
  return errors;
}
