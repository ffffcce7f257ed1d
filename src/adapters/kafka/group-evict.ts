import type { Kafka } from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';

/**
 * Removes a restarted worker's previous incarnation from its consumer group.
 *
 * A container killed and restarted in the same pod keeps its name, so a worker whose client id
 * carries that name (kafka.instanceId) can find its dead predecessor among the group's members.
 * Left alone, that member stays until its session times out (10 s), and when the new process
 * joins first, kafkajs's eager rebalance makes every other member give up its partitions and
 * wait for that timeout too (bench:recovery, session 12: the survivor's own partitions paused
 * 8.1–8.2 s). A LeaveGroup sent on the dead member's behalf ends it at once, which is what
 * Kafka's static membership (group.instance.id, not offered by kafkajs) would achieve.
 *
 * Safe even when the member was alive after all (two processes given one instance id, or a
 * frozen one): it is told on its next heartbeat and rejoins, and its partitions are fenced by
 * the claim epochs in Redis like any zombie's.
 *
 * kafkajs has no public LeaveGroup for another member; the coordinator connection comes from
 * the client's internal cluster factory (kafkajs 2.2.4, like the other fixes in this folder).
 * Without it, or on any error, nothing is removed and the session timeout does the work.
 */
const CREATE_CLUSTER = 'private:Kafka:createCluster';

interface Coordinator {
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
}
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<Coordinator>;
}
type ClusterFactory = (options: { allowAutoTopicCreation: boolean }) => Cluster;

function clusterFactory(kafka: Kafka): ClusterFactory | undefined {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  return typeof factory === 'function' ? (factory as ClusterFactory) : undefined;
}

/** The members of `groupId` whose client id is `clientId`. */
export async function membersWithClientId(kafka: Kafka, groupId: string, clientId: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return (groups[0]?.members ?? []).filter((m) => m.clientId === clientId).map((m) => m.memberId);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Sends LeaveGroup for every member of `groupId` whose client id is `clientId` (call it before
 * this process joins). Returns the member ids removed; never throws.
 */
export async function removePreviousIncarnations(kafka: Kafka, groupId: string, clientId: string, logger: Logger): Promise<string[]> {
  const removed: string[] = [];
  try {
    const members = await membersWithClientId(kafka, groupId, clientId);
    if (members.length === 0) return removed;
    const factory = clusterFactory(kafka);
    if (factory === undefined) {
      logger.warn({ members }, 'previous incarnation still in the group, and this kafkajs cannot remove it; waiting for its session to time out');
      return removed;
    }
    const cluster = factory({ allowAutoTopicCreation: false });
    await cluster.connect();
    try {
      const coordinator = await cluster.findGroupCoordinator({ groupId });
      for (const memberId of members) {
        try {
          await coordinator.leaveGroup({ groupId, memberId });
          removed.push(memberId);
        } catch (err) {
          // UNKNOWN_MEMBER_ID: its session ended between the two calls.
          logger.debug({ err, memberId }, 'leave on behalf of a previous incarnation refused');
        }
      }
    } finally {
      await cluster.disconnect();
    }
    if (removed.length > 0) logger.info({ members: removed }, 'previous incarnation removed from the group');
  } catch (err) {
    logger.warn({ err }, 'could not look for a previous incarnation in the group; its session timeout applies');
  }
  return removed;
}
