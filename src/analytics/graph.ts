/**
 * User–device–merchant graph analysis for the batch graph rebuild (PRODUCT §5), with graphology:
 * connected components, PageRank, Louvain communities, and a ring score per user that the user
 * actors read as features (graph_ring_score, graph_component_size).
 *
 * Why components on the user–device subgraph only: merchants connect nearly everyone (one
 * popular shop joins every customer into one component), while a device shared by several
 * accounts is the signature of a fraud ring (PRODUCT §7). PageRank and communities use the full
 * graph, weighted by event counts, as context for the lookup API.
 *
 * Ring score (in [0, 1], monotone in both inputs):
 *   structural = w · (n − 1) / (n − 1 + h)           n = users in the user–device component,
 *                                                     h = sizeHalf (n − 1 = h gives w/2)
 *   density    = known fraud users / n   (n ≥ 2)      confirmed labels from before the rebuild
 *   ring       = 1 − (1 − structural) · (1 − density)
 * A lone user scores 0: a ring needs at least two accounts.
 *
 * Deterministic: graphology iterates in insertion order, inputs are read in order, and Louvain
 * gets a seeded random source.
 */
import { UndirectedGraph as Graph } from 'graphology';
import louvainModule from 'graphology-communities-louvain';
import { connectedComponents } from 'graphology-components';
import pagerankModule from 'graphology-metrics/centrality/pagerank.js';
import { createRng } from './prng.ts';
import type { GraphContext } from './user-features.ts';

/** The event fields the graph reads. */
export interface GraphEvent {
  readonly user_id: string;
  readonly merchant_id: string;
  readonly device_id?: string | undefined;
}

/** Options; all have defaults. */
export interface GraphOptions {
  /** Users beyond the first at which the structural term reaches half its weight. Default 3. */
  readonly sizeHalf: number;
  /** Weight of the structural term. Default 0.8. */
  readonly structuralWeight: number;
  /** PageRank damping. Default 0.85. */
  readonly pageRankAlpha: number;
  /** Seed of Louvain's random source. Default 1. */
  readonly seed: number;
  /** Compute PageRank and communities (context for the lookup API). Default true; the ring score does not need them. */
  readonly centrality: boolean;
}

const DEFAULTS: GraphOptions = {
  sizeHalf: 3,
  structuralWeight: 0.8,
  pageRankAlpha: 0.85,
  seed: 1,
  centrality: true,
};

/** What the rebuild knows about one user. */
export interface UserGraphInfo {
  /** Smallest user id of the component: stable across rebuilds while the component is. */
  component: string;
  componentUsers: number;
  componentDevices: number;
  /** Other users sharing at least one device with this user directly. */
  sharedDeviceUsers: number;
  /** Those users' ids, sorted (empty for most users). */
  sharedWith: readonly string[];
  fraudUsersInComponent: number;
  ringScore: number;
  pageRank: number;
  community: number;
}

/** Result of one rebuild. */
export interface GraphAnalysis {
  users: Record<string, UserGraphInfo>;
  components: number;
  largestComponentUsers: number;
  communities: number;
  nodes: number;
  edges: number;
}

/**
 * CommonJS interop: these packages' typings say `export default`, which TypeScript (NodeNext)
 * models as `{ default: fn }`, while Node hands an ES import the function itself. Accept both.
 */
function interopDefault<T>(m: { default: T }): T {
  return (m as { default?: T }).default ?? (m as unknown as T);
}
const louvain = interopDefault(louvainModule);
const pagerank = interopDefault(pagerankModule);

const U = 'u:';
const NONE: readonly string[] = Object.freeze([]);
const D = 'd:';
const M = 'm:';

function addWeighted(g: Graph, a: string, b: string): void {
  g.mergeEdge(a, b);
  g.updateEdgeAttribute(a, b, 'weight', (w: number | undefined) => (w ?? 0) + 1);
}

/** The undirected, event-count-weighted user–device–merchant graph (nodes `u:`, `d:`, `m:`). */
export function buildPaymentGraph(events: Iterable<GraphEvent>): Graph {
  const g = new Graph({ allowSelfLoops: false });
  for (const e of events) {
    const u = U + e.user_id;
    g.mergeNode(u, { kind: 'user' });
    g.mergeNode(M + e.merchant_id, { kind: 'merchant' });
    addWeighted(g, u, M + e.merchant_id);
    if (e.device_id !== undefined) {
      g.mergeNode(D + e.device_id, { kind: 'device' });
      addWeighted(g, u, D + e.device_id);
    }
  }
  return g;
}

/** Ring score from component size and known fraud users in it (see the module comment). */
export function ringScore(
  componentUsers: number,
  fraudUsers: number,
  opts: Partial<GraphOptions> = {},
): number {
  const o = { ...DEFAULTS, ...opts };
  if (componentUsers < 2) return 0;
  const structural = (o.structuralWeight * (componentUsers - 1)) / (componentUsers - 1 + o.sizeHalf);
  const density = Math.min(1, fraudUsers / componentUsers);
  return 1 - (1 - structural) * (1 - density);
}

/** Components of the user–device subgraph, as lists of user ids (sorted), users only. */
function userDeviceComponents(g: Graph): string[][] {
  const ud = new Graph();
  g.forEachNode((node, attrs) => {
    if (attrs.kind !== 'merchant') ud.addNode(node);
  });
  g.forEachEdge((_edge, _attrs, source, target) => {
    if (!source.startsWith(M) && !target.startsWith(M)) ud.mergeEdge(source, target);
  });
  return connectedComponents(ud).map((c) =>
    c
      .filter((n) => n.startsWith(U))
      .map((n) => n.slice(U.length))
      .sort(),
  );
}

/**
 * Analyses the graph of `events`. `knownFraudUsers` are users with a confirmed fraud label known
 * at rebuild time (labels arrive late; never pass labels from the future of the events scored).
 */
export function analysePaymentGraph(
  events: Iterable<GraphEvent>,
  knownFraudUsers: ReadonlySet<string>,
  opts: Partial<GraphOptions> = {},
): GraphAnalysis {
  const o = { ...DEFAULTS, ...opts };
  const g = buildPaymentGraph(events);
  const ranks =
    g.order === 0 || !o.centrality ? {} : pagerank(g, { getEdgeWeight: 'weight', alpha: o.pageRankAlpha });
  const rng = createRng(o.seed);
  const detailed =
    g.size === 0 ? null : louvain.detailed(g, { getEdgeWeight: 'weight', rng: () => rng.next() });
  const users: Record<string, UserGraphInfo> = {};
  let largest = 0;
  const components = userDeviceComponents(g);
  for (const members of components) {
    if (members.length === 0) continue; // a device-only component cannot occur, but stay total
    largest = Math.max(largest, members.length);
    const devices = new Set<string>();
    for (const u of members) g.forEachNeighbor(U + u, (n) => n.startsWith(D) && devices.add(n));
    const fraud = members.filter((u) => knownFraudUsers.has(u)).length;
    const score = ringScore(members.length, fraud, o);
    for (const u of members) {
      const sharing = new Set<string>();
      g.forEachNeighbor(U + u, (d) => {
        if (d.startsWith(D)) g.forEachNeighbor(d, (v) => v !== U + u && sharing.add(v));
      });
      users[u] = {
        component: members[0] as string,
        componentUsers: members.length,
        componentDevices: devices.size,
        sharedDeviceUsers: sharing.size,
        sharedWith: sharing.size === 0 ? NONE : [...sharing].map((n) => n.slice(U.length)).sort(),
        fraudUsersInComponent: fraud,
        ringScore: score,
        pageRank: ranks[U + u] ?? 0,
        community: detailed?.communities[U + u] ?? 0,
      };
    }
  }
  const sorted: Record<string, UserGraphInfo> = {};
  for (const k of Object.keys(users).sort()) sorted[k] = users[k] as UserGraphInfo;
  return {
    users: sorted,
    components: components.length,
    largestComponentUsers: largest,
    communities: detailed?.count ?? 0,
    nodes: g.order,
    edges: g.size,
  };
}

/**
 * The lookup API's view of users in a shared-device component: the component's id and, capped at
 * `max`, the users sharing a device with each directly.
 */
export function graphNeighbours(analysis: GraphAnalysis, max = 50): Record<string, { component: string; sharedWith: readonly string[] }> {
  const out: Record<string, { component: string; sharedWith: readonly string[] }> = {};
  for (const [u, info] of Object.entries(analysis.users)) {
    if (info.componentUsers > 1) out[u] = { component: info.component, sharedWith: info.sharedWith.slice(0, max) };
  }
  return out;
}

/**
 * The per-user features the user actors read, only for users where they differ from the defaults
 * (ring 0, component 1): the map written back after a rebuild stays small.
 */
export function graphContexts(analysis: GraphAnalysis): Record<string, GraphContext> {
  const out: Record<string, GraphContext> = {};
  for (const [u, info] of Object.entries(analysis.users)) {
    if (info.componentUsers > 1 || info.ringScore > 0) {
      out[u] = { ringScore: info.ringScore, componentSize: info.componentUsers };
    }
  }
  return out;
}
