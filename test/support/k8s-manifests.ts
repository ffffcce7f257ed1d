import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * deploy/k8s as plain objects, for test/unit/deploy/k8s.test.ts: every document of every
 * manifest, parsed once, plus the few Kubernetes rules the checks need (label selectors,
 * memory quantities). No cluster, no schema: scripts/kubeconform.sh does the schema part.
 */
export const K8S_DIR = new URL('../../deploy/k8s/', import.meta.url).pathname;
export const ROOT = new URL('../../', import.meta.url).pathname;

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

export interface Probe {
  httpGet?: { path: string; port: string };
  tcpSocket?: { port: string };
  exec?: { command: string[] };
}

export interface Container {
  name: string;
  command: string[];
  env?: { name: string; value: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  securityContext?: { allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}

export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    volumes?: { name: string; configMap?: { name: string } }[];
  };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** Every document of every deploy/k8s/*.yaml; a YAML error fails the load. */
export function loadManifests(dir = K8S_DIR): Manifest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors.map((e) => e.message).join('; ')}`);
        return doc.toJS() as Manifest;
      }),
    )
    .filter((m) => m !== null);
}

/** Whether `labels` satisfy a Kubernetes label selector (an empty selector selects everything). */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const value = labels[key];
    if (operator === 'In') return value !== undefined && values.includes(value);
    if (operator === 'NotIn') return value === undefined || !values.includes(value);
    return operator === 'Exists' ? value !== undefined : value === undefined;
  });
  return byLabel && byExpression;
}

const UNIT_MIB: Record<string, number> = { Mi: 1, Gi: 1024, M: 1, G: 1024, MiB: 1, GiB: 1024, mb: 1, gb: 1024 };

/** A memory size in MiB: Kubernetes (512Mi, 4Gi), JVM (2G, 200M), Cassandra (768MiB), Redis (4gb). */
export function mib(quantity: string): number {
  const m = /^(\d+)(Mi|Gi|MiB|GiB|M|G|mb|gb)$/.exec(quantity);
  if (!m) throw new Error(`memory ${quantity}`);
  return Number(m[1]) * UNIT_MIB[m[2]!]!;
}

/** `key value` lines of a redis.conf or `key: value` / `key=value` lines, comments dropped. */
export function settings(text: string, separator: RegExp): Map<string, string> {
  const pairs = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [key, ...rest] = line.split(separator);
      return [key!, rest.join(' ').trim()] as const;
    });
  return new Map(pairs);
}

/** The text of a file a pod's first container reads from a ConfigMap volume (mounted whole or by subPath). */
export function configMapFile(manifests: Manifest[], pod: PodTemplate, path: string): string | undefined {
  const file = path.split('/').pop()!;
  const mount = (pod.spec.containers[0]!.volumeMounts ?? []).find((m) => path === (m.subPath ? m.mountPath : `${m.mountPath}/${file}`));
  const volume = pod.spec.volumes?.find((v) => v.name === mount?.name);
  const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === volume?.configMap?.name);
  return configMap?.data?.[mount?.subPath ?? file];
}

/** Node ids a Strimzi KafkaNodePool pins with strimzi.io/next-node-ids ("[0-2]"); [] without. */
export function nodeIds(annotations: Record<string, string> | undefined): number[] {
  const m = /^\[(\d+)-(\d+)\]$/.exec(annotations?.['strimzi.io/next-node-ids'] ?? '');
  return m ? Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, i) => Number(m[1]) + i) : [];
}
