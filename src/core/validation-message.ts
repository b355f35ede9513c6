// Turns a schema validation failure (Ajv's errors, as Fastify reports them) into one sentence a person
// can act on: which field, and what is allowed. Ajv's own text ("querystring/format must be equal to
// constant, … must match a schema in anyOf") names schema internals, not the request.
import { ERROR_CODES, type ErrorCode } from './errors.ts';

/** The part of an Ajv error this reads; `parentSchema` is there because Ajv runs with `verbose`. */
export interface SchemaError {
  keyword: string;
  instancePath?: string;
  params?: Record<string, unknown>;
  message?: string;
  /** The value that failed (ajv's `verbose`). */
  data?: unknown;
  parentSchema?: { description?: unknown; properties?: unknown; format?: unknown };
}

/** Which part of the request failed: body, querystring, params or headers (Fastify's validationContext). */
export type ValidationContext = string;

const WHERE: Record<string, string> = { body: 'the body', querystring: 'the query string', params: 'the path', headers: 'the headers' };

/** One limit for a link's target, said the same way wherever it is checked. */
export const MAX_URL_LENGTH = 2048;
export const URL_TOO_LONG = `url must be at most ${MAX_URL_LENGTH} characters.`;

/**
 * Fields whose errors have a code of their own, the same code whether the schema or the service
 * refuses the value (a too-long `url` is `invalid_url` either way).
 */
const FIELD_CODES: Readonly<Record<string, ErrorCode>> = {
  url: 'invalid_url',
  alias: 'invalid_alias',
  expires_at: 'invalid_expiry',
  expires_in: 'invalid_expiry',
};

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

const FORMAT_NAMES: Record<string, string> = {
  'date-time': 'an ISO 8601 date-time with seconds and a time zone (2030-01-31T12:00:00Z)',
  uri: 'an absolute URI',
  email: 'an e-mail address',
};

function fieldName(instancePath: string | undefined): string {
  return (instancePath ?? '')
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name === '' ? part : `${name}.${part}`), '');
}

function fieldsOf(error: SchemaError): string[] {
  const properties = error.parentSchema?.properties;
  return properties !== null && typeof properties === 'object' ? Object.keys(properties) : [];
}

function quoteList(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

/** What one alternative of a union asks for, as words ("svg", "null", "a string"). */
function alternative(error: SchemaError): string | undefined {
  const params = error.params ?? {};
  switch (error.keyword) {
    case 'const':
      return JSON.stringify(params.allowedValue);
    case 'enum':
      return Array.isArray(params.allowedValues) ? params.allowedValues.map((v) => JSON.stringify(v)).join(' or ') : undefined;
    case 'type':
      return TYPE_NAMES[String(params.type)] ?? String(params.type);
    case 'format':
      return FORMAT_NAMES[String(params.format)] ?? `a ${String(params.format)}`;
    default:
      return undefined;
  }
}

function describe(error: SchemaError, all: readonly SchemaError[], where: string): string {
  const field = fieldName(error.instancePath);
  const subject = field === '' ? where.charAt(0).toUpperCase() + where.slice(1) : field;
  const description = typeof error.parentSchema?.description === 'string' ? error.parentSchema.description : undefined;
  const params = error.params ?? {};
  switch (error.keyword) {
    case 'required':
      return `${subject} needs the field "${String(params.missingProperty)}".`;
    case 'additionalProperties': {
      const allowed = fieldsOf(error);
      const known = allowed.length === 0 ? `${where} takes no fields` : `${where} takes only ${quoteList(allowed)}`;
      return `"${String(params.additionalProperty)}" is not a field of ${field === '' ? where : field}: ${known}.`;
    }
    case 'minProperties':
      return `${subject} must set at least one of ${quoteList(fieldsOf(error))}.`;
    case 'type':
    case 'const':
    case 'enum':
    case 'format':
    case 'anyOf':
    case 'oneOf': {
      // A union reports each branch's failure, then anyOf: say every branch at once.
      const branches = all.filter((other) => other.instancePath === error.instancePath && other.keyword !== 'anyOf' && other.keyword !== 'oneOf');
      const words = [...new Set(branches.map(alternative).filter((w): w is string => w !== undefined))];
      if (words.length === 0) return `${subject} is not valid.`;
      return `${subject} must be ${words.join(' or ')}.`;
    }
    case 'maxLength':
      if (field === 'url') return URL_TOO_LONG;
      return `${subject} must be at most ${String(params.limit)} characters.`;
    case 'minLength':
      return `${subject} must be at least ${String(params.limit)} character${params.limit === 1 ? '' : 's'}.`;
    case 'maximum':
      return `${subject} must be at most ${String(params.limit)}.`;
    case 'minimum':
      return `${subject} must be at least ${String(params.limit)}.`;
    case 'maxItems':
      return `${subject} must have at most ${String(params.limit)} items.`;
    case 'minItems':
      return `${subject} must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}.`;
    case 'pattern':
      return description === undefined ? `${subject} has characters or a form that is not allowed.` : `${subject} is not valid: ${midSentence(description.replace(/\.$/, ''))}.`;
    default:
      return `${subject} is not valid.`;
  }
}

/** The sentence and the code for a failed validation of one part of the request. */
/** Keywords a parameter that takes one value fails on when given several. */
const REPEATED_KEYWORDS = new Set(['type', 'anyOf', 'oneOf', 'enum', 'const', 'pattern', 'format']);

export function validationProblem(errors: readonly SchemaError[], context: ValidationContext | undefined): { detail: string; code: ErrorCode } {
  const where = WHERE[context ?? 'body'] ?? 'the request';
  // The union's own summary comes last; the first branch error stands for the field.
  const branchError = errors.find((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf') ?? errors[0];
  if (branchError === undefined) return { detail: `${where.charAt(0).toUpperCase() + where.slice(1)} is not valid.`, code: 'invalid_request' };
  // A list given to a field that takes one (`tag`: a string or a list): the list branch's error says
  // what is wrong with the list ("at most 20 items"), the string branch's only that it is no string.
  const path = branchError.instancePath ?? '';
  const listError = Array.isArray(branchError.data)
    ? errors.find((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && ((e.instancePath ?? '').startsWith(`${path}/`) || (e.instancePath === path && isListSchema(e))))
    : undefined;
  const first = listError ?? branchError;
  const field = fieldName(first.instancePath).split(/[.[]/)[0] ?? '';
  // `?limit=1&limit=2` reaches the schema as an array: "limit must be a string" misled.
  if (context === 'querystring' && field !== '' && listError === undefined && Array.isArray(first.data) && REPEATED_KEYWORDS.has(first.keyword)) {
    return { detail: `${field} is given ${first.data.length} times in the query string: give it once.`, code: 'invalid_request' };
  }
  const fieldCode = context === 'body' || context === undefined ? FIELD_CODES[field] : undefined;
  const code = fieldCode !== undefined && ERROR_CODES[fieldCode] === 400 ? fieldCode : 'invalid_request';
  return { detail: describe(first, errors, where), code };
}

/** Whether the error is of a schema for a list (the array branch of a union). */
const isListSchema = (error: SchemaError): boolean => (error.parentSchema as { type?: unknown } | undefined)?.type === 'array';

/** A description as the rest of a sentence: "The id shown…" → "the id shown…"; "PNG width…" stays. */
function midSentence(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}
