import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One prom-client registry per process, created by the entry point and passed down.
 * Metric names are prefixed `riskstream_`; units are in the name (`_seconds`, `_bytes`).
 */
export function createRegistry(processName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry, prefix: 'riskstream_' });
  return registry;
}
