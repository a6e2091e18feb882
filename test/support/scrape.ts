/**
 * Scrapes a node's /metrics for tests and reads it strictly (prometheus-text.ts), so a test checks
 * what a real scraper would see, not what our exporter meant to write.
 */
import { parsePrometheusText, type Family } from './prometheus-text.js';

export class Scrape {
  private readonly families: Map<string, Family>;

  constructor(readonly text: string) {
    this.families = parsePrometheusText(text);
  }

  static async of(metricsUrl: string): Promise<Scrape> {
    const response = await fetch(metricsUrl);
    if (response.status !== 200) throw new Error(`${metricsUrl} answered ${response.status}`);
    const type = String(response.headers.get('content-type'));
    if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`${metricsUrl}: unexpected content type ${type}`);
    return new Scrape(await response.text());
  }

  has(name: string): boolean {
    return this.families.has(name);
  }

  family(name: string): Family {
    const family = this.families.get(name);
    if (!family) throw new Error(`no metric ${name} in the scrape`);
    return family;
  }

  /** The sample named `sample` (default: the family's own name) whose labels include `labels`. */
  value(name: string, labels: Readonly<Record<string, string>> = {}, sample = name): number | undefined {
    return this.matching(name, labels, sample)[0]?.value;
  }

  /** The sum of every sample named `sample` whose labels include `labels`. */
  total(name: string, labels: Readonly<Record<string, string>> = {}, sample = name): number {
    return this.matching(name, labels, sample).reduce((sum, found) => sum + found.value, 0);
  }

  private matching(name: string, labels: Readonly<Record<string, string>>, sample: string) {
    return this.family(name).samples.filter((found) => found.name === sample && Object.entries(labels).every(([key, value]) => found.labels[key] === value));
  }
}
