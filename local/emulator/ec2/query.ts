import type { Tag } from '../contracts';
import { Ec2ApiError, Ec2ErrorCode } from './errors';

/**
 * Reading EC2 Query protocol parameters: flat `Name=value` pairs where lists are numbered
 * (`VolumeId.1`, `Filter.1.Value.2`) and structures are dotted (`Tag.1.Key`).
 */

/** One `Filter.N`: a name and the values any of which may match. */
export interface QueryFilter {
  name: string;
  values: string[];
}

/** An optional scalar parameter. */
export function optional(params: URLSearchParams, name: string): string | undefined {
  return params.get(name) ?? undefined;
}

/** A required scalar parameter (MissingParameter otherwise, as EC2 answers). */
export function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new Ec2ApiError(Ec2ErrorCode.missingParameter, `The request must contain the parameter ${name}`);
  }
  return value;
}

/** An optional integer parameter. */
export function optionalInt(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Value (${value}) for parameter ${name} is invalid. Expected an integer.`);
  }
  return parsed;
}

/** An optional boolean parameter (`true` / `false`). */
export function optionalBool(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (value !== 'true' && value !== 'false') {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Value (${value}) for parameter ${name} is invalid. Expected a boolean.`);
  }
  return value === 'true';
}

/** Values of a numbered list `prefix.1`, `prefix.2`, … in index order. */
export function list(params: URLSearchParams, prefix: string): string[] {
  return numbered(params, prefix)
    .map((n) => params.get(`${prefix}.${n}`))
    .filter((value): value is string => value !== null);
}

/** `Filter.N.Name` / `Filter.N.Value.M`. */
export function filters(params: URLSearchParams): QueryFilter[] {
  return numbered(params, 'Filter').map((n) => ({
    name: required(params, `Filter.${n}.Name`),
    values: list(params, `Filter.${n}.Value`),
  }));
}

/** `prefix.N.Key` / `prefix.N.Value` (Value defaults to the empty string, as EC2 does). */
export function tags(params: URLSearchParams, prefix = 'Tag'): Tag[] {
  return numbered(params, prefix).map((n) => ({
    Key: required(params, `${prefix}.${n}.Key`),
    Value: params.get(`${prefix}.${n}.Value`) ?? '',
  }));
}

/** `Tag.N.Key` with an optional `Tag.N.Value` (DeleteTags: a value narrows the match). */
export function tagKeys(params: URLSearchParams): Array<{ Key: string; Value?: string }> {
  return numbered(params, 'Tag').map((n) => ({
    Key: required(params, `Tag.${n}.Key`),
    Value: params.get(`Tag.${n}.Value`) ?? undefined,
  }));
}

/** Tags of `TagSpecification.N` entries for `resourceType` (or without a type). */
export function tagSpecifications(params: URLSearchParams, resourceType: string): Tag[] {
  return numbered(params, 'TagSpecification').flatMap((n) => {
    const type = params.get(`TagSpecification.${n}.ResourceType`);
    if (type !== null && type !== resourceType) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `'${type}' is not a valid taggable resource type for this operation.`);
    }
    return tags(params, `TagSpecification.${n}.Tag`);
  });
}

/** The distinct N of keys `prefix.N` / `prefix.N.…`, ascending. */
function numbered(params: URLSearchParams, prefix: string): number[] {
  const found = new Set<number>();
  const head = `${prefix}.`;
  for (const key of params.keys()) {
    if (!key.startsWith(head)) continue;
    const rest = key.slice(head.length);
    const digits = /^(\d+)(\.|$)/.exec(rest);
    if (digits !== null) found.add(Number(digits[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * Whether a resource passes every filter: filters are ANDed, the values of one filter ORed,
 * and values may use EC2's wildcards `*` and `?`. `attribute` returns the resource's values for
 * a filter name, or undefined when the name is not a filter of this resource type.
 */
export function matchesFilters(
  queryFilters: QueryFilter[],
  resourceTags: Tag[],
  attribute: (name: string) => Array<string | undefined> | undefined,
): boolean {
  return queryFilters.every((filter) => {
    const actual = tagAttribute(filter.name, resourceTags) ?? attribute(filter.name);
    if (actual === undefined) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `The filter '${filter.name}' is invalid`);
    }
    return filter.values.some((pattern) => actual.some((value) => value !== undefined && globMatch(pattern, value)));
  });
}

/** Checks filter names before any resource is looked at, so an empty result still rejects a bad name. */
export function checkFilterNames(queryFilters: QueryFilter[], known: readonly string[]): void {
  for (const filter of queryFilters) {
    if (tagAttribute(filter.name, []) === undefined && !known.includes(filter.name)) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `The filter '${filter.name}' is invalid`);
    }
  }
}

function tagAttribute(name: string, resourceTags: Tag[]): string[] | undefined {
  if (name.startsWith('tag:')) {
    const key = name.slice('tag:'.length);
    return resourceTags.filter((tag) => tag.Key === key).map((tag) => tag.Value);
  }
  if (name === 'tag-key') return resourceTags.map((tag) => tag.Key);
  if (name === 'tag-value') return resourceTags.map((tag) => tag.Value);
  return undefined;
}

/** EC2 filter wildcards: `*` any run of characters, `?` one character, `\` escapes. */
export function globMatch(pattern: string, value: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i];
    if (char === '\\' && i + 1 < pattern.length) {
      i += 1;
      source += escapeRegExp(pattern[i]);
    } else if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`, 's').test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
