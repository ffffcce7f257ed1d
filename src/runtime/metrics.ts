import { getHeapStatistics } from 'node:v8';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One prom-client registry per process, created by the entry point and passed down.
 * Metric names are prefixed `riskstream_`; units are in the name (`_seconds`, `_bytes`).
 */
export function createRegistry(processName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry, prefix: 'riskstream_' });
  // The heap's hard limit (--max-old-space-size plus the young generation): heap used near it
  // means the process is about to die of heap exhaustion (alert RiskstreamHeapNearLimit).
  new Gauge({
    name: 'riskstream_nodejs_heap_limit_bytes', help: 'V8 heap size limit (heap_size_limit) in bytes', registers: [registry],
    collect() {
      this.set(getHeapStatistics().heap_size_limit);
    },
  });
  return registry;
}
