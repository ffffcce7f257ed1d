import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../src/runtime/config.ts';

/**
 * deploy/k8s, checked without a cluster: every manifest parses, the ConfigMap passes the same
 * validation as the processes' own start-up, and each Deployment runs an entry point that exists
 * with probes on the port its process listens on, memory limits that hold its V8 heap caps, a
 * PodDisruptionBudget and Prometheus annotations. (No schema validation: that needs the cluster's
 * OpenAPI documents, which this machine cannot fetch.)
 */
const DIR = new URL('../../../deploy/k8s/', import.meta.url).pathname;
const ROOT = new URL('../../../', import.meta.url).pathname;

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

const manifests: Manifest[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as Manifest;
    }),
  )
  .filter((m) => m !== null);

const of = (kind: string) => manifests.filter((m) => m.kind === kind);
const configMap = of('ConfigMap').find((m) => m.metadata.name === 'riskstream-config');

interface Container {
  command: string[];
  env?: { name: string; value: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
  resources?: { limits?: { memory?: string } };
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[] };
}

const mib = (quantity: string) => {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`memory ${quantity}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
};

describe('deploy/k8s', () => {
  it('has the ConfigMap, the API, one worker Deployment per pipeline, the archiver and the batch process', () => {
    expect(configMap).toBeDefined();
    expect(of('Deployment').map((d) => d.metadata.name).sort()).toEqual([
      'riskstream-api', 'riskstream-archiver', 'riskstream-batch', 'riskstream-worker-history', 'riskstream-worker-merchant', 'riskstream-worker-user',
    ]);
    expect(of('Service').map((s) => s.metadata.name).sort()).toEqual(['riskstream-api', 'riskstream-batch-dashboard']);
  });

  it('the archiver writes and the batch process reads the same lake volume; the dashboard password is a Secret', () => {
    const pod = (name: string) => of('Deployment').find((d) => d.metadata.name === name)!.spec!.template as PodTemplate & {
      spec: { volumes: { persistentVolumeClaim: { claimName: string } }[]; containers: (Container & { volumeMounts: { mountPath: string }[] })[] };
    };
    const env = (name: string) => new Map((pod(name).spec.containers[0]!.env ?? []).map((e) => [e.name, e]));
    for (const name of ['riskstream-archiver', 'riskstream-batch']) {
      expect(pod(name).spec.volumes[0]?.persistentVolumeClaim.claimName).toBe('riskstream-lake');
      expect(env(name).get('RISKSTREAM_BRONZE_DIR')?.value?.startsWith(pod(name).spec.containers[0]!.volumeMounts[0]!.mountPath)).toBe(true);
    }
    expect(env('riskstream-batch').get('RISKSTREAM_BATCH_DASHBOARD_PASSWORD')).toMatchObject({ valueFrom: { secretKeyRef: { key: 'dashboard-password' } } });
    expect(of('PersistentVolumeClaim').map((c) => c.metadata.name)).toEqual(['riskstream-lake']);
  });

  it('the ConfigMap passes the processes\u2019 config validation, listening on the pod address', () => {
    const config = loadConfig(configMap!.data);
    expect(config.observability.metricsHost).toBe('0.0.0.0');
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.cassandra.replicationFactor).toBeGreaterThanOrEqual(3);
    expect(config.kafka.brokers.length).toBeGreaterThan(1);
  });

  const config = loadConfig(configMap?.data ?? {});
  for (const deployment of of('Deployment')) {
    const name = deployment.metadata.name;
    const template = deployment.spec!.template as PodTemplate;
    const [container] = template.spec.containers;

    it(`${name}: runs an existing entry point under plain node with the ConfigMap`, () => {
      const [node, script] = container!.command;
      expect(node).toBe('node');
      expect(existsSync(join(ROOT, script!)), script).toBe(true);
      expect(container!.envFrom?.[0]?.configMapRef?.name).toBe('riskstream-config');
      // Every variable set on the container is a config field too (or Node's own options).
      const vars = Object.fromEntries((container!.env ?? []).filter((e) => e.name.startsWith('RISKSTREAM_')).map((e) => [e.name, e.value]));
      expect(() => loadConfig({ ...configMap!.data, ...vars })).not.toThrow();
    });

    it(`${name}: probes and scrapes the port its process listens on`, () => {
      const isApi = name === 'riskstream-api';
      const port = isApi ? config.api.port : config.observability.metricsPort;
      const [declared] = container!.ports ?? [];
      expect(declared?.containerPort).toBe(port);
      expect(container!.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: declared!.name });
      expect(container!.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: declared!.name });
      expect(template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
    });

    it(`${name}: the V8 heap caps agree and leave room under the memory limit`, () => {
      const env = new Map((container!.env ?? []).map((e) => [e.name, e.value]));
      const options = env.get('NODE_OPTIONS') ?? '';
      const heap = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1]);
      const semi = Number(/--max-semi-space-size=(\d+)/.exec(options)?.[1]);
      expect(heap).toBeGreaterThan(0);
      expect(semi).toBeGreaterThan(0);
      // The API and the workers re-execute themselves with their own caps when NODE_OPTIONS lacks them.
      const section = name === 'riskstream-api' ? 'API' : name.startsWith('riskstream-worker-') ? 'RUNTIME' : null;
      if (section !== null) {
        expect(env.get(`RISKSTREAM_${section}_HEAP_MIB`)).toBe(String(heap));
        expect(env.get(`RISKSTREAM_${section}_SEMI_SPACE_MIB`)).toBe(String(semi));
      }
      // Old space + 3 semi-spaces (V8's young generation) + ~128 MiB of code, stacks and buffers.
      expect(heap + 3 * semi + 128).toBeLessThanOrEqual(mib(container!.resources!.limits!.memory!));
    });

    it(`${name}: has a PodDisruptionBudget selecting its pods`, () => {
      const pdb = of('PodDisruptionBudget').find((p) => p.metadata.name === name);
      expect(pdb?.spec).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: template.metadata.labels } });
      expect((deployment.spec!.selector as { matchLabels: unknown }).matchLabels).toEqual(template.metadata.labels);
    });
  }
});
