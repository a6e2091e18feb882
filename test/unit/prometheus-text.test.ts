import { expect } from 'chai';
import { Counter, Histogram, Registry } from 'prom-client';
import { parsePrometheusText } from '../support/prometheus-text.js';

describe('test support: the strict Prometheus text reader', () => {
  it('reads what prom-client writes: labels with escapes, counters, labelled histograms', async () => {
    const registry = new Registry();
    new Counter({ name: 'c_total', help: 'a "counter"', labelNames: ['path'], registers: [registry] }).inc({ path: 'a"b\\c\nd' }, 3);
    const histogram = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['op'], buckets: [1, 2], registers: [registry] });
    histogram.observe({ op: 'put' }, 1.5);
    histogram.observe({ op: 'get' }, 0.5);
    const families = parsePrometheusText(await registry.metrics());
    expect(families.get('c_total')?.samples).to.deep.equal([{ name: 'c_total', labels: { path: 'a"b\\c\nd' }, value: 3 }]);
    const counts = families.get('h_seconds')!.samples.filter((sample) => sample.name === 'h_seconds_count');
    expect(counts.map((sample) => [sample.labels.op, sample.value])).to.deep.equal([['put', 1], ['get', 1]]);
  });

  it('reads Inf and NaN in any case, as Prometheus does', () => {
    const families = parsePrometheusText('# TYPE g gauge\ng{a="1"} Nan\ng{a="2"} +Inf\ng{a="3"} -inf\n');
    expect(families.get('g')!.samples.map((sample) => sample.value)).to.deep.equal([NaN, Infinity, -Infinity]);
  });

  it('refuses what a scraper would refuse or misread', () => {
    const bad = [
      'undeclared 1',
      '# TYPE x gauge\nx{a="1"',
      '# TYPE x gauge\nx{a=1} 1',
      '# TYPE x gauge\nx one',
      '# TYPE x wobbly\nx 1',
      '# TYPE x gauge\nx_count 1',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1',
    ];
    for (const text of bad) expect(() => parsePrometheusText(text), text).to.throw();
  });
});
