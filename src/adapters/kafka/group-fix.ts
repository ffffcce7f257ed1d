import { createRequire, Module } from 'node:module';

/**
 * Replaces kafkajs 2.2.4's `groupMessagesPerPartition` (producer/groupMessagesPerPartition.js)
 * with a linear one. Upstream appends each message by copying its partition's array
 * (`[...current, message]`) and merging a fresh object into the result, so grouping a request of
 * n messages over p partitions copies ~n²/2p array slots and allocates an array per message: in
 * a replay, where a produce request carries ~1,500 re-keyed events or scores, that was ~2.5% of
 * the merchant worker's and ~4% of the user worker's CPU samples, and garbage besides. The
 * result is the same: an object from partition to that partition's messages in input order.
 *
 * kafkajs's sendMessages takes the function once, when kafkajs is loaded, so this must run
 * first: every module of this project that imports kafkajs's values (type-only imports load
 * nothing) imports this one before it. If kafkajs was loaded earlier anyway, nothing is
 * replaced (`groupFixInstalled` says which).
 */
const FOR_VERSION = '2.2.4';
const GROUP_MODULE = 'kafkajs/src/producer/groupMessagesPerPartition.js';
const SEND_MODULE = 'kafkajs/src/producer/sendMessages.js';

interface GroupArgs<T> {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly T[];
  readonly partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: T }) => number;
}

const MARK = Symbol.for('riskstream.kafkajs.groupFix');

/** Messages by partition, each list in input order (kafkajs's contract, without the copies). */
export function groupMessagesPerPartition<T>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<T>): Record<number, T[]> {
  const result: Record<number, T[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}
(groupMessagesPerPartition as unknown as Record<symbol, boolean>)[MARK] = true;

function install(): boolean {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== FOR_VERSION) return false;
  const path = require.resolve(GROUP_MODULE);
  const cached = require.cache[path];
  // Already ours when another copy of this module (a test runner's fresh module graph) ran first.
  if (cached) return (cached.exports as Record<symbol, unknown>)[MARK] === true;
  if (require.cache[require.resolve(SEND_MODULE)] !== undefined) return false;
  const module = new Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = groupMessagesPerPartition;
  require.cache[path] = module;
  return true;
}

/** Whether kafkajs groups produce requests with the function above (see the header). */
export const groupFixInstalled: boolean = install();
