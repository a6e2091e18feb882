/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every sample
 * must belong to a family declared by HELP and TYPE, label values are unescaped, and a histogram's
 * buckets must be cumulative and end in +Inf equal to its count. A scrape that a real Prometheus
 * would reject or misread fails here too.
 */

export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: the family's, or with _bucket, _sum, _count. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly samples: readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly FamilyType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, { name: string; help: string; type: FamilyType | undefined; samples: Sample[] }>();
  const familyOf = (name: string) => {
    let family = families.get(name);
    if (!family) families.set(name, (family = { name, help: '', type: undefined, samples: [] }));
    return family;
  };
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const where = `line ${index + 1}: ${raw}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!match) return; // a plain comment
      const [, keyword, name, rest = ''] = match;
      if (!NAME.test(name!)) throw new Error(`bad metric name in ${where}`);
      const family = familyOf(name!);
      if (keyword === 'HELP') family.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      else {
        if (!(TYPES as readonly string[]).includes(rest)) throw new Error(`bad type in ${where}`);
        if (family.samples.length > 0) throw new Error(`TYPE after samples in ${where}`);
        family.type = rest as FamilyType;
      }
      return;
    }
    const sample = parseSample(line, where);
    const family = families.get(sample.name) ?? families.get(sample.name.replace(/_(bucket|sum|count)$/, ''));
    if (!family?.type) throw new Error(`sample without a declared family in ${where}`);
    if (family.name !== sample.name && family.type !== 'histogram' && family.type !== 'summary') throw new Error(`suffixed sample of a ${family.type} in ${where}`);
    family.samples.push(sample);
  });
  const result = new Map<string, Family>();
  for (const family of families.values()) {
    if (!family.type) throw new Error(`family ${family.name} has no TYPE`);
    const checked: Family = { ...family, type: family.type };
    if (checked.type === 'histogram') checkHistogram(checked);
    result.set(family.name, checked);
  }
  return result;
}

function parseSample(line: string, where: string): Sample {
  const nameEnd = line.search(/[{\s]/);
  if (nameEnd <= 0) throw new Error(`no value in ${where}`);
  const name = line.slice(0, nameEnd);
  if (!NAME.test(name)) throw new Error(`bad metric name in ${where}`);
  const labels: Record<string, string> = {};
  let at = nameEnd;
  if (line[at] === '{') {
    at++;
    for (;;) {
      while (line[at] === ' ') at++;
      if (line[at] === '}') break;
      const eq = line.indexOf('=', at);
      const labelName = line.slice(at, eq).trim();
      if (eq < 0 || !LABEL_NAME.test(labelName) || line[eq + 1] !== '"') throw new Error(`bad label in ${where}`);
      let value = '';
      at = eq + 2;
      for (;; at++) {
        const char = line[at];
        if (char === undefined) throw new Error(`unterminated label value in ${where}`);
        if (char === '"') break;
        if (char === '\\') {
          const next = line[++at];
          value += next === 'n' ? '\n' : next === '"' ? '"' : next === '\\' ? '\\' : (() => { throw new Error(`bad escape in ${where}`); })();
        } else value += char;
      }
      if (labelName in labels) throw new Error(`label ${labelName} twice in ${where}`);
      labels[labelName] = value;
      at++;
      while (line[at] === ' ') at++;
      if (line[at] === ',') at++;
      else if (line[at] !== '}') throw new Error(`bad label list in ${where}`);
    }
    at++;
  }
  const [valueText, timestamp, ...extra] = line.slice(at).trim().split(/\s+/);
  if (valueText === undefined || extra.length > 0 || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new Error(`bad value in ${where}`);
  // As Prometheus reads values (Go's ParseFloat): Inf and NaN in any case; prom-client writes "Nan".
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(valueText);
  const value = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(valueText);
  if (Number.isNaN(value) && !special) throw new Error(`bad value in ${where}`);
  return { name, labels, value };
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      entry.buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value]);
    } else if (sample.name.endsWith('_count')) entry.count = sample.value;
  }
  for (const [key, entry] of series) {
    const buckets = [...entry.buckets].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < buckets.length; i++) if (buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${family.name}${key}: buckets not cumulative`);
    const last = buckets[buckets.length - 1];
    if (!last || last[0] !== Infinity || last[1] !== entry.count) throw new Error(`${family.name}${key}: +Inf bucket does not equal the count`);
  }
}
