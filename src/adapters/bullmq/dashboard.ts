import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import Fastify from 'fastify';

export interface DashboardOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly queues: readonly Queue[];
}

/** The UI's path; `/` redirects there. */
export const DASHBOARD_PATH = '/queues';

/**
 * The queue dashboard (bull-board) behind HTTP Basic auth: every request, the UI's assets and its
 * JSON API included, needs the configured user and password (the dashboard can retry, promote and
 * delete jobs, so it is never open). Serve it over TLS or a port-forward beyond loopback.
 */
export async function startDashboard(options: DashboardOptions): Promise<{ port: number; close(): Promise<void> }> {
  if (options.password.length === 0) throw new Error('the queue dashboard needs a password');
  const app = Fastify({ logger: false });
  const expected = Buffer.from(`Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`);
  app.addHook('onRequest', async (request, reply) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Basic realm="riskstream batch", charset="UTF-8"')
        .send({ error: { code: 'UNAUTHENTICATED', message: 'the queue dashboard needs HTTP Basic credentials' } });
    }
  });
  const serverAdapter = new FastifyAdapter();
  createBullBoard({ queues: options.queues.map((q) => new BullMQAdapter(q)), serverAdapter });
  serverAdapter.setBasePath(DASHBOARD_PATH);
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  app.get('/', async (_request, reply) => reply.redirect(DASHBOARD_PATH));
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { port, close: () => app.close() };
}
