import { MALLOC_SETTINGS } from '../../../src/cli/heap-budget.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pipelines } from '../../../src/actors/registry.ts';
import { checkEvictionPolicy } from '../../../src/adapters/redis/admin.ts';
import { fullTopicName, TOPIC_SPECS, topicSpec } from '../../../src/provision/topics.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import {
  configMapFile, type Container, type LabelSelector, loadManifests, type Manifest, mib, nodeIds, type PodTemplate, ROOT, selects,
  settings,
} from '../../support/k8s-manifests.ts';

/**
 * deploy/k8s, checked without a cluster: every manifest parses, the ConfigMap passes the same
 * validation as the processes' own start-up, and each Deployment runs an entry point that exists
 * with probes on the port its process listens on, memory limits that hold its V8 heap caps, a
 * PodDisruptionBudget and Prometheus annotations. The platform manifests agree with the code and
 * with each other: Kafka topics with src/provision/topics.ts, the PrometheusRule with the local
 * alert rules, the KEDA triggers with the worker's consumer groups and topics, Redis and Cassandra
 * with the ConfigMap's addresses. Schemas are checked by scripts/kubeconform.sh
 * (test/integration/k8s-kubeconform.test.ts).
 */
const manifests = loadManifests();
const of = (kind: string) => manifests.filter((m) => m.kind === kind);
const named = (kind: string, name: string) => of(kind).find((m) => m.metadata.name === name);
const configMap = named('ConfigMap', 'riskstream-config');
const config = loadConfig(configMap?.data ?? {});
const podOf = (m: Manifest) => m.spec!.template as PodTemplate;
/** Objects of riskstream's own processes (the platform's carry other app.kubernetes.io/name values). */
const ours = (m: Manifest) => m.metadata.labels?.['app.kubernetes.io/name'] === 'riskstream';

describe('deploy/k8s', () => {
  it('has the ConfigMap, the API, one worker Deployment per pipeline, the archiver and the batch process', () => {
    expect(configMap).toBeDefined();
    expect(of('Deployment').map((d) => d.metadata.name).sort()).toEqual([
      'riskstream-api', 'riskstream-archiver', 'riskstream-batch', 'riskstream-worker-history', 'riskstream-worker-merchant', 'riskstream-worker-user',
    ]);
    expect(of('Service').filter(ours).map((s) => s.metadata.name).sort()).toEqual(['riskstream-api', 'riskstream-batch-dashboard']);
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
      // Workers start with the caps given, so they do not re-execute: the malloc settings the
      // re-execution would add must be in the container's environment.
      if (section === 'RUNTIME') for (const [key, value] of Object.entries(MALLOC_SETTINGS)) expect(env.get(key)).toBe(value);
      // Old space + 3 semi-spaces (V8's young generation) + ~128 MiB of code, stacks and buffers.
      expect(heap + 3 * semi + 128).toBeLessThanOrEqual(mib(container!.resources!.limits!.memory!));
    });

    it(`${name}: a worker's instance id is its pod's name, which a container restart keeps`, () => {
      const entry = (container!.env ?? []).find((e) => e.name === 'RISKSTREAM_KAFKA_INSTANCE_ID') as { valueFrom?: unknown } | undefined;
      if (name.startsWith('riskstream-worker-')) expect(entry?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
      else expect(entry).toBeUndefined();
    });

    it(`${name}: has a PodDisruptionBudget selecting its pods`, () => {
      const pdb = of('PodDisruptionBudget').find((p) => p.metadata.name === name);
      expect(pdb?.spec).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: template.metadata.labels } });
      expect((deployment.spec!.selector as { matchLabels: unknown }).matchLabels).toEqual(template.metadata.labels);
    });
  }
});

// --- the platform: Kafka, monitoring, autoscaling, Redis, Cassandra ---

interface Listener { name: string; port: number; type: string; tls: boolean }
interface NodePool { metadata: { name: string; annotations?: Record<string, string> }; spec: { replicas: number; roles: string[] } }
const kafka = of('Kafka')[0] as Manifest & { spec: { kafka: { version: string; listeners: Listener[]; config: Record<string, unknown> } } };
const pools = of('KafkaNodePool') as unknown as NodePool[];
const plain = kafka?.spec.kafka.listeners.find((l) => l.type === 'internal' && !l.tls);

describe('deploy/k8s: Kafka (Strimzi)', () => {
  it('has one KafkaTopic per topic of src/provision/topics.ts, with its partitions and configs', () => {
    const topics = of('KafkaTopic') as (Manifest & { spec: { partitions: number; config: Record<string, string> } })[];
    expect(topics.map((t) => t.metadata.name).sort()).toEqual(TOPIC_SPECS.map((s) => fullTopicName(config.kafka.topicPrefix, s.base)).sort());
    for (const spec of TOPIC_SPECS) {
      const topic = topics.find((t) => t.metadata.name === fullTopicName(config.kafka.topicPrefix, spec.base))!;
      expect(topic.spec.partitions, spec.base).toBe(spec.partitions);
      // Retention and (absent here) cleanup.policy: exactly the module's configs, nothing more.
      expect(topic.spec.config, spec.base).toEqual(spec.configs);
      expect(topic.metadata.labels?.['strimzi.io/cluster']).toBe(kafka.metadata.name);
    }
  });

  it('replicates every topic 3 times with min.insync.replicas 2 over 3 brokers and a KRaft quorum', () => {
    const brokerConfig = kafka.spec.kafka.config;
    expect(brokerConfig['min.insync.replicas']).toBe(2);
    expect(brokerConfig['default.replication.factor']).toBe(3);
    for (const topic of of('KafkaTopic')) expect((topic.spec as { replicas: number }).replicas, topic.metadata.name).toBe(3);
    const brokers = pools.filter((p) => p.spec.roles.includes('broker'));
    const controllers = pools.filter((p) => p.spec.roles.includes('controller'));
    expect(brokers.reduce((n, p) => n + p.spec.replicas, 0)).toBe(3);
    expect(controllers.reduce((n, p) => n + p.spec.replicas, 0) % 2).toBe(1);
    for (const pool of pools) expect((pool as unknown as Manifest).metadata.labels?.['strimzi.io/cluster']).toBe(kafka.metadata.name);
  });

  it('the ConfigMap lists the broker pods on the plain listener', () => {
    const [pool] = pools.filter((p) => p.spec.roles.includes('broker'));
    const name = kafka.metadata.name;
    const expected = nodeIds(pool!.metadata.annotations).map((id) => `${name}-${pool!.metadata.name}-${id}.${name}-kafka-brokers:${plain!.port}`);
    expect(expected).toHaveLength(pool!.spec.replicas);
    expect(config.kafka.brokers).toEqual(expected);
  });
});

/** The job name the local Prometheus gives a process (deploy/prometheus/prometheus.yml). */
const localJob = (component: string) => `riskstream-${component.startsWith('worker-') ? 'worker' : component}`;

describe('deploy/k8s: Prometheus Operator', () => {
  const rules = parse(readFileSync(`${ROOT}deploy/prometheus/rules/riskstream.rules.yml`, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  const scrape = parse(readFileSync(`${ROOT}deploy/prometheus/prometheus.yml`, 'utf8')) as { scrape_configs: { job_name: string }[] };
  type Endpoint = { port: string; path: string; relabelings: { targetLabel: string; replacement: string }[] };
  const monitors = of('PodMonitor') as (Manifest & { spec: { selector: LabelSelector; podMetricsEndpoints: Endpoint[] } })[];
  const jobOf = (e: Endpoint) => e.relabelings.find((r) => r.targetLabel === 'job')?.replacement;

  it('the PrometheusRule carries exactly the groups of the rules file', () => {
    expect(of('PrometheusRule')).toHaveLength(1);
    expect((of('PrometheusRule')[0]!.spec as { groups: unknown }).groups).toEqual(rules.groups);
  });

  it('the PodMonitors name their jobs as the local Prometheus does', () => {
    const local = scrape.scrape_configs.map((c) => c.job_name).filter((j) => j.startsWith('riskstream-'));
    expect(monitors.flatMap((m) => m.spec.podMetricsEndpoints.map(jobOf)).sort()).toEqual(local.sort());
  });

  // The rules' job matcher, e.g. up{job=~"riskstream-.*"}.
  const matchers = rules.groups.flatMap((g) => g.rules.flatMap((r) => [...r.expr.matchAll(/job=~"([^"]+)"/g)].map((m) => m[1]!)));
  for (const deployment of of('Deployment')) {
    it(`${deployment.metadata.name}: one PodMonitor scrapes its metrics port under a job the alert rules select`, () => {
      const pod = podOf(deployment);
      const found = monitors.filter((m) => selects(m.spec.selector, pod.metadata.labels));
      expect(found.map((m) => m.metadata.name)).toHaveLength(1);
      const [endpoint] = found[0]!.spec.podMetricsEndpoints;
      const port = pod.spec.containers[0]!.ports?.find((p) => p.name === endpoint!.port);
      expect(String(port?.containerPort)).toBe(pod.metadata.annotations?.['prometheus.io/port']);
      expect(endpoint!.path).toBe(pod.metadata.annotations?.['prometheus.io/path']);
      expect(jobOf(endpoint!)).toBe(localJob(pod.metadata.labels['app.kubernetes.io/component']!));
      expect(matchers.length).toBeGreaterThan(0);
      for (const matcher of matchers) expect(jobOf(endpoint!)).toMatch(new RegExp(`^(?:${matcher})$`));
    });
  }
});

/** Pipelines that must keep consuming through a drain (scores wait on them); the history only trails. */
const ALWAYS_CONSUMING = new Set(['merchant', 'user']);
/** The namespace the README applies these manifests to; KEDA's operator resolves Kafka from its own. */
const NAMESPACE = 'riskstream';

describe('deploy/k8s: KEDA autoscaling', () => {
  interface Behavior { stabilizationWindowSeconds: number; policies: { type: string; value: number; periodSeconds: number }[] }
  type Scaled = Manifest & {
    spec: {
      scaleTargetRef: { name: string }; minReplicaCount: number; maxReplicaCount: number;
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: Behavior; scaleDown: Behavior } } };
      triggers: { type: string; metadata: Record<string, string> }[];
    };
  };
  const scaled = of('ScaledObject') as Scaled[];
  const pipelineOf = (d: Manifest) => {
    const command = podOf(d).spec.containers[0]!.command;
    const name = command[command.indexOf('--pipeline') + 1];
    return command.includes('--pipeline') ? pipelines[name!]!({ scoring: { model: () => { throw new Error('unused'); }, graph: () => undefined }, allowedLatenessMs: config.runtime.allowedLatenessMs }) : undefined;
  };

  it('scales every stream worker Deployment with one ScaledObject, and nothing else with an HPA', () => {
    const workers = of('Deployment').filter((d) => pipelineOf(d) !== undefined).map((d) => d.metadata.name);
    expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(workers.sort());
    expect(of('HorizontalPodAutoscaler')).toEqual([]);
  });

  it('the worker builds its group id as the triggers assume', () => {
    const source = readFileSync(`${ROOT}src/cli/worker.ts`, 'utf8');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text of worker.ts's template literal
    expect(source).toContain('`${config.kafka.topicPrefix}riskstream.${pipeline.name}`');
  });

  for (const so of scaled) {
    const deployment = named('Deployment', so.spec.scaleTargetRef.name);
    const pipeline = deployment && pipelineOf(deployment);
    const [trigger] = so.spec.triggers;

    it(`${so.metadata.name}: reads the lag of the worker's consumer group on its input topic`, () => {
      expect(pipeline).toBeDefined();
      expect(so.spec.triggers).toHaveLength(1);
      expect(trigger!.type).toBe('kafka');
      expect(trigger!.metadata.consumerGroup).toBe(`${config.kafka.topicPrefix}riskstream.${pipeline!.name}`);
      expect(trigger!.metadata.topic).toBe(fullTopicName(config.kafka.topicPrefix, pipeline!.input.topic));
      expect(trigger!.metadata.bootstrapServers).toBe(`${kafka.metadata.name}-kafka-bootstrap.${NAMESPACE}.svc:${plain!.port}`);
      expect(trigger!.metadata.version).toBe(kafka.spec.kafka.version);
      expect(Number(trigger!.metadata.lagThreshold)).toBeGreaterThan(0);
    });

    it(`${so.metadata.name}: replicas between the PodDisruptionBudget's needs and the input's partitions`, () => {
      const { minReplicaCount: min, maxReplicaCount: max } = so.spec;
      expect(max).toBeLessThanOrEqual(topicSpec(pipeline!.input.topic).partitions);
      expect(min).toBeGreaterThanOrEqual(1);
      expect(min).toBeLessThanOrEqual(max);
      const pdb = named('PodDisruptionBudget', deployment!.metadata.name)!.spec as { maxUnavailable: number };
      if (ALWAYS_CONSUMING.has(pipeline!.name)) expect(min).toBeGreaterThanOrEqual(pdb.maxUnavailable + 1);
      // A `replicas` in the Deployment would reset the HPA's count at every kubectl apply.
      expect(deployment!.spec!.replicas).toBeUndefined();
    });

    it(`${so.metadata.name}: scales in slow steps (each one is a consumer-group rebalance)`, () => {
      const { scaleUp, scaleDown } = so.spec.advanced.horizontalPodAutoscalerConfig.behavior;
      expect(scaleUp.stabilizationWindowSeconds).toBeGreaterThanOrEqual(60);
      expect(scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
      for (const p of scaleUp.policies) expect(p.periodSeconds).toBeGreaterThanOrEqual(60);
      expect(scaleDown.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: expect.any(Number) }]);
      expect(scaleDown.policies[0]!.periodSeconds).toBeGreaterThanOrEqual(120);
    });
  }
});

const mountedFile = (pod: PodTemplate, path: string) => configMapFile(manifests, pod, path);

describe('deploy/k8s: Redis', () => {
  const url = new URL(config.redis.url);
  const statefulSet = named('StatefulSet', url.hostname);
  const pod = statefulSet && podOf(statefulSet);

  it('RISKSTREAM_REDIS_URL names the headless Service of the Redis StatefulSet and its port', () => {
    const service = named('Service', url.hostname)!.spec as { clusterIP: string; selector: Record<string, string>; ports: { port: number }[] };
    expect(service.clusterIP).toBe('None');
    expect(selects({ matchLabels: service.selector }, pod!.metadata.labels)).toBe(true);
    expect((statefulSet!.spec as { serviceName: string; replicas: number }).serviceName).toBe(url.hostname);
    expect(service.ports.map((p) => p.port)).toContain(Number(url.port || 6379));
    expect(pod!.spec.containers[0]!.ports?.map((p) => p.containerPort)).toContain(Number(url.port || 6379));
  });

  it('runs with AOF (everysec) and noeviction on a persistent volume, which the worker accepts', async () => {
    const [, file] = pod!.spec.containers[0]!.command;
    const conf = settings(mountedFile(pod!, file!) ?? '', /\s+/);
    expect(conf.get('appendonly')).toBe('yes');
    expect(conf.get('appendfsync')).toBe('everysec');
    expect(conf.get('maxmemory-policy')).toBe('noeviction');
    // The worker's own start-up check (a fake connection answering CONFIG GET).
    const redis = { call: async () => ['maxmemory-policy', conf.get('maxmemory-policy')] } as unknown as Redis;
    expect(await checkEvictionPolicy(redis)).toEqual({ policy: 'noeviction', safe: true });
    // Room for an AOF rewrite's copy-on-write pages under the container's limit.
    expect(mib(conf.get('maxmemory')!)).toBeLessThanOrEqual(0.75 * mib(pod!.spec.containers[0]!.resources!.limits!.memory!));
    const claims = (statefulSet!.spec as { volumeClaimTemplates: { metadata: { name: string } }[] }).volumeClaimTemplates;
    const data = pod!.spec.containers[0]!.volumeMounts?.find((m) => m.mountPath === conf.get('dir'));
    expect(claims.map((c) => c.metadata.name)).toContain(data?.name);
  });
});

describe('deploy/k8s: Cassandra', () => {
  type StatefulSetSpec = { serviceName: string; replicas: number };
  const statefulSets = of('StatefulSet');
  const points = config.cassandra.contactPoints.map((p) => {
    const [host, port] = p.split(':');
    const [podName, serviceName] = host!.split('.');
    return { podName: podName!, serviceName: serviceName!, port: Number(port) };
  });
  const cassandra = statefulSets.find((s) => (s.spec as StatefulSetSpec).serviceName === points[0]?.serviceName);
  const spec = cassandra?.spec as StatefulSetSpec;
  const pod = cassandra && podOf(cassandra);
  const yamlText = pod && mountedFile(pod, '/etc/cassandra/cassandra.yaml');
  const cassandraYaml = parse(yamlText ?? '{}') as Record<string, unknown> & { seed_provider: { parameters: { seeds: string }[] }[] };
  /** `<statefulset>-<n>` with n a replica of it. */
  const isPod = (name: string) => {
    const m = new RegExp(`^${cassandra?.metadata.name}-(\\d+)$`).exec(name);
    return m !== null && Number(m[1]) < spec.replicas;
  };

  it('the contact points are pods of the StatefulSet behind its headless Service, on the CQL port', () => {
    expect(points.length).toBeGreaterThan(1);
    for (const { podName, serviceName, port } of points) {
      const service = named('Service', serviceName)!.spec as { clusterIP: string; publishNotReadyAddresses: boolean; ports: { port: number }[] };
      expect(service.clusterIP).toBe('None');
      // Seeds must resolve while their pods are still starting.
      expect(service.publishNotReadyAddresses).toBe(true);
      expect(isPod(podName), podName).toBe(true);
      expect(service.ports.map((p) => p.port)).toContain(port);
      expect(pod!.spec.containers[0]!.ports?.map((p) => p.containerPort)).toContain(port);
    }
  });

  it('one data centre, the one the driver is told, with a gossiping snitch and seeds among its pods', () => {
    const rackdc = settings(mountedFile(pod!, '/etc/cassandra/cassandra-rackdc.properties') ?? '', /=/);
    expect(rackdc.get('dc')).toBe(config.cassandra.localDataCenter);
    expect(cassandraYaml.endpoint_snitch).toBe('GossipingPropertyFileSnitch');
    const seeds = cassandraYaml.seed_provider[0]!.parameters[0]!.seeds.split(',');
    expect(seeds.length).toBeGreaterThanOrEqual(2);
    for (const seed of seeds) expect(isPod(seed.split('.')[0]!), seed).toBe(true);
  });

  it('enough replicas for the keyspace, and the PodDisruptionBudget leaves a LOCAL_QUORUM up', () => {
    const rf = config.cassandra.replicationFactor;
    expect(spec.replicas).toBeGreaterThanOrEqual(rf);
    const pdb = of('PodDisruptionBudget').find((p) => selects((p.spec as { selector: LabelSelector }).selector, pod!.metadata.labels));
    expect(pdb).toBeDefined();
    const { maxUnavailable } = pdb!.spec as { maxUnavailable: number };
    expect(spec.replicas - maxUnavailable).toBeGreaterThanOrEqual(Math.floor(rf / 2) + 1);
  });

  it('heap and memtables as the local stack measured them, inside the memory limit', () => {
    const local = readFileSync(`${ROOT}scripts/stack/cassandra.sh`, 'utf8');
    const env = new Map((pod!.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    const heap = mib(env.get('MAX_HEAP_SIZE')!);
    expect(`-Xms${heap / 1024}g -Xmx${heap / 1024}g`).toBe(/-Xms\S+ -Xmx\S+/.exec(local)?.[0]);
    for (const key of ['memtable_allocation_type', 'memtable_heap_space', 'memtable_offheap_space', 'commitlog_total_space']) {
      expect(`${key}: ${cassandraYaml[key]}`).toBe(new RegExp(`^${key}: .*$`, 'm').exec(local)?.[0]);
    }
    // Heap + off-heap cell data + chunk cache + ~1 GiB of direct buffers, metaspace and stacks.
    const offHeap = mib(String(cassandraYaml.memtable_offheap_space)) + mib(String(cassandraYaml.file_cache_size));
    expect(heap + offHeap + 1024).toBeLessThanOrEqual(mib(pod!.spec.containers[0]!.resources!.limits!.memory!));
  });
});

describe('deploy/k8s: every Deployment and StatefulSet', () => {
  for (const workload of [...of('Deployment'), ...of('StatefulSet')]) {
    it(`${workload.kind} ${workload.metadata.name}: resources, probes and a non-root security context`, () => {
      const pod = podOf(workload);
      expect(pod.spec.securityContext?.runAsNonRoot).toBe(true);
      // Numeric: the kubelet cannot check a user name against runAsNonRoot.
      expect(pod.spec.securityContext?.runAsUser).toBeGreaterThan(0);
      for (const container of pod.spec.containers) {
        expect(container.resources?.requests?.cpu, container.name).toBeDefined();
        // Memory requested = limit: the scheduler reserves what the process may use.
        expect(container.resources?.limits?.memory, container.name).toBeDefined();
        expect(container.resources?.requests?.memory).toBe(container.resources?.limits?.memory);
        expect(container.readinessProbe, container.name).toBeDefined();
        expect(container.livenessProbe, container.name).toBeDefined();
        expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      }
    });
  }
});
