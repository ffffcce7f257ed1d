# The riskstream image: every process (api, worker, archiver) runs from it with plain Node 24,
# which strips the TypeScript types itself (no build step, no tsx: `node src/cli/worker.ts`).
# Not built in this repository's CI (its machine has no container engine); the commands it runs
# are the ones the tests start.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
# glibc malloc: a fixed mmap threshold (src/cli/heap-budget.ts, MALLOC_SETTINGS)
ENV MALLOC_MMAP_THRESHOLD_=131072
COPY package.json package-lock.json ./
# Production dependencies only; no install scripts are needed (README, Requirements).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
USER node
# The Deployments in deploy/k8s give the command (api or worker --pipeline <name>).
CMD ["node", "src/cli/api.ts"]
