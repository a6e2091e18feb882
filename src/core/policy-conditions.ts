/**
 * The Condition block of a bucket policy: its operators, checked when the policy is put and judged
 * against a request's context when it is evaluated, as AWS's IAM evaluates them.
 *
 *   - Every operator of a block, and every key of an operator, must hold (AND); the values listed for
 *     one key are alternatives (OR), and for a negated operator (StringNotEquals, NotIpAddress, ...)
 *     none of them may match.
 *   - A key the request does not carry fails a positive operator and satisfies a negated one;
 *     `...IfExists` makes it satisfy either; `Null` asks exactly whether it is absent.
 *   - `ForAnyValue:` / `ForAllValues:` judge keys that carry several values (s3:RequestObjectTagKeys).
 */
import { BlockList, isIP } from 'node:net';
import { globMatches } from './glob.js';

/** A request's condition keys, lower-cased (keys are case-insensitive), each with its values. */
export type ConditionContext = ReadonlyMap<string, readonly string[]>;

export interface PolicyCondition {
  /** As written, e.g. `StringLikeIfExists` or `ForAnyValue:StringEquals`. */
  readonly operator: string;
  /** Lower-cased. */
  readonly key: string;
  readonly values: readonly string[];
}

type BaseOperator =
  | 'StringEquals' | 'StringNotEquals' | 'StringEqualsIgnoreCase' | 'StringNotEqualsIgnoreCase' | 'StringLike' | 'StringNotLike'
  | 'NumericEquals' | 'NumericNotEquals' | 'NumericLessThan' | 'NumericLessThanEquals' | 'NumericGreaterThan' | 'NumericGreaterThanEquals'
  | 'DateEquals' | 'DateNotEquals' | 'DateLessThan' | 'DateLessThanEquals' | 'DateGreaterThan' | 'DateGreaterThanEquals'
  | 'Bool' | 'BinaryEquals' | 'IpAddress' | 'NotIpAddress' | 'ArnEquals' | 'ArnLike' | 'ArnNotEquals' | 'ArnNotLike' | 'Null';

/** Each base operator: how one request value matches one policy value, and whether the result is negated. */
const OPERATORS: Record<BaseOperator, { readonly negated: boolean; readonly kind: ValueKind; readonly matches: (actual: string, wanted: string) => boolean }> = {
  StringEquals: { negated: false, kind: 'string', matches: (a, w) => a === w },
  StringNotEquals: { negated: true, kind: 'string', matches: (a, w) => a === w },
  StringEqualsIgnoreCase: { negated: false, kind: 'string', matches: (a, w) => a.toLowerCase() === w.toLowerCase() },
  StringNotEqualsIgnoreCase: { negated: true, kind: 'string', matches: (a, w) => a.toLowerCase() === w.toLowerCase() },
  StringLike: { negated: false, kind: 'string', matches: (a, w) => globMatches(w, a) },
  StringNotLike: { negated: true, kind: 'string', matches: (a, w) => globMatches(w, a) },
  NumericEquals: { negated: false, kind: 'number', matches: (a, w) => Number(a) === Number(w) },
  NumericNotEquals: { negated: true, kind: 'number', matches: (a, w) => Number(a) === Number(w) },
  NumericLessThan: { negated: false, kind: 'number', matches: (a, w) => Number(a) < Number(w) },
  NumericLessThanEquals: { negated: false, kind: 'number', matches: (a, w) => Number(a) <= Number(w) },
  NumericGreaterThan: { negated: false, kind: 'number', matches: (a, w) => Number(a) > Number(w) },
  NumericGreaterThanEquals: { negated: false, kind: 'number', matches: (a, w) => Number(a) >= Number(w) },
  DateEquals: { negated: false, kind: 'date', matches: (a, w) => dateMs(a) === dateMs(w) },
  DateNotEquals: { negated: true, kind: 'date', matches: (a, w) => dateMs(a) === dateMs(w) },
  DateLessThan: { negated: false, kind: 'date', matches: (a, w) => dateMs(a) < dateMs(w) },
  DateLessThanEquals: { negated: false, kind: 'date', matches: (a, w) => dateMs(a) <= dateMs(w) },
  DateGreaterThan: { negated: false, kind: 'date', matches: (a, w) => dateMs(a) > dateMs(w) },
  DateGreaterThanEquals: { negated: false, kind: 'date', matches: (a, w) => dateMs(a) >= dateMs(w) },
  Bool: { negated: false, kind: 'bool', matches: (a, w) => a.toLowerCase() === w.toLowerCase() },
  BinaryEquals: { negated: false, kind: 'string', matches: (a, w) => a === w },
  IpAddress: { negated: false, kind: 'cidr', matches: (a, w) => inCidr(a, w) },
  NotIpAddress: { negated: true, kind: 'cidr', matches: (a, w) => inCidr(a, w) },
  ArnEquals: { negated: false, kind: 'string', matches: (a, w) => a === w },
  ArnLike: { negated: false, kind: 'string', matches: (a, w) => globMatches(w, a) },
  ArnNotEquals: { negated: true, kind: 'string', matches: (a, w) => a === w },
  ArnNotLike: { negated: true, kind: 'string', matches: (a, w) => globMatches(w, a) },
  Null: { negated: false, kind: 'bool', matches: () => false },
};

type ValueKind = 'string' | 'number' | 'date' | 'bool' | 'cidr';

interface ParsedOperator {
  readonly base: BaseOperator;
  readonly set: 'ForAnyValue' | 'ForAllValues' | undefined;
  readonly ifExists: boolean;
}

function parseOperator(operator: string): ParsedOperator | undefined {
  let rest = operator;
  let set: ParsedOperator['set'];
  for (const prefix of ['ForAnyValue', 'ForAllValues'] as const) {
    if (rest.startsWith(`${prefix}:`)) {
      set = prefix;
      rest = rest.slice(prefix.length + 1);
    }
  }
  const ifExists = rest.endsWith('IfExists') && rest !== 'IfExists';
  if (ifExists) rest = rest.slice(0, -'IfExists'.length);
  if (!Object.hasOwn(OPERATORS, rest)) return undefined;
  const base = rest as BaseOperator;
  if (base === 'Null' && (ifExists || set !== undefined)) return undefined;
  return { base, set, ifExists };
}

/** Why a condition cannot be used, or undefined. Values arrive already as strings. */
export function conditionProblem(condition: PolicyCondition): string | undefined {
  const parsed = parseOperator(condition.operator);
  if (parsed === undefined) return `Invalid Condition type : ${condition.operator}`;
  const kind = OPERATORS[parsed.base].kind;
  for (const value of condition.values) {
    if (!valueFits(kind, value)) return `Invalid value ${JSON.stringify(value)} for the ${condition.operator} condition on ${condition.key}`;
  }
  return undefined;
}

function valueFits(kind: ValueKind, value: string): boolean {
  switch (kind) {
    case 'string':
      return true;
    case 'number':
      return value.trim() !== '' && Number.isFinite(Number(value));
    case 'date':
      return Number.isFinite(dateMs(value));
    case 'bool':
      return value.toLowerCase() === 'true' || value.toLowerCase() === 'false';
    case 'cidr':
      return cidrOf(value) !== undefined;
  }
}

/** Whether `condition` holds for a request with `context`. The condition has passed `conditionProblem`. */
export function conditionHolds(condition: PolicyCondition, context: ConditionContext, values: readonly string[] = condition.values): boolean {
  const parsed = parseOperator(condition.operator);
  if (parsed === undefined) return false;
  const actual = context.get(condition.key) ?? [];
  if (parsed.base === 'Null') {
    const absent = actual.length === 0;
    return values.some((value) => (value.toLowerCase() === 'true') === absent);
  }
  const { negated, matches } = OPERATORS[parsed.base];
  const satisfies = (one: string): boolean => {
    const hit = values.some((wanted) => matches(one, wanted));
    return negated ? !hit : hit;
  };
  if (actual.length === 0) {
    if (parsed.ifExists) return true;
    if (parsed.set === 'ForAllValues') return true;
    if (parsed.set === 'ForAnyValue') return false;
    return negated;
  }
  if (parsed.set === 'ForAllValues') return actual.every(satisfies);
  return negated && parsed.set === undefined ? actual.every(satisfies) : actual.some(satisfies);
}

/** Milliseconds of an ISO 8601 date or of epoch seconds, as IAM accepts both. */
function dateMs(value: string): number {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  return Date.parse(value);
}

function cidrOf(value: string): { readonly address: string; readonly prefix: number; readonly family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText] = value.trim().split('/', 2);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function inCidr(address: string, cidr: string): boolean {
  const range = cidrOf(cidr);
  const version = isIP(address);
  if (range === undefined || version === 0) return false;
  const list = new BlockList();
  list.addSubnet(range.address, range.prefix, range.family);
  return list.check(address, version === 4 ? 'ipv4' : 'ipv6');
}

/** A context from named values; absent and empty entries are left out, names lower-cased. */
export function conditionContext(entries: Readonly<Record<string, string | readonly string[] | undefined>>): ConditionContext {
  const context = new Map<string, readonly string[]>();
  for (const [name, value] of Object.entries(entries)) {
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : value;
    if (values.length > 0) context.set(name.toLowerCase(), values);
  }
  return context;
}
