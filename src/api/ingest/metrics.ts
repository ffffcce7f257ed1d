import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Ingest API metrics, registered once per app on the process registry. */
export interface IngestMetrics {
  readonly events: Counter<'outcome'>;
  readonly requests: Counter<'route' | 'status'>;
  readonly duration: Histogram<'route'>;
  readonly kafkaSend: Histogram;
  readonly inFlightBytes: Gauge;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  return {
    events: new Counter({
      name: 'riskstream_ingest_events_total',
      help: 'Events by outcome: accepted (acked by Kafka), rejected (invalid), failed (Kafka unavailable)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    inFlightBytes: new Gauge({
      name: 'riskstream_ingest_in_flight_bytes',
      help: 'Request bytes of the ingest routes admitted and not yet answered (admission budget: api.maxInFlightBytes)',
      registers: [registry],
    }),
    requests: new Counter({
      name: 'riskstream_ingest_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'riskstream_ingest_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    kafkaSend: new Histogram({
      name: 'riskstream_ingest_kafka_send_seconds',
      help: 'Time from handing a request to the producer to its acknowledgement',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
  };
}
