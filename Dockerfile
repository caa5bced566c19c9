# workflowd as a sidecar image. Build:  docker build -t workflowd .
#                                 Run:    docker run -p 3500:3500 -v workflowd-data:/data workflowd
#
# test/container/dockerfile.test.ts holds this file to the repo (COPY sources exist, the CMD
# is what the build produces, ports and env match the code's defaults) and replays its build
# and run steps with the local Node (scripts/replay-dockerfile.mjs). Keep RUN steps to npm,
# node, mkdir, chown, rm and apt-get, or teach the replay the new command.
#
# Base image: Node 22 LTS. Node 20 reached end of life in April 2026 and gets no security
# fixes; 22 is a maintained LTS that every dependency supports (better-sqlite3 12 builds for
# 20 to 26, and light-my-request's cookie asks for >= 22). The code itself needs >= 20 and CI
# tests it on Node 20, so the image runs one major version above the tested one; the native
# addon is compiled below for the image's own Node, never copied from another version.

# ---- build: compile TypeScript and the better-sqlite3 addon, then drop dev dependencies ---
FROM node:22-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded (a build
# network that reaches only the npm registry, or a platform without one): node-gyp needs
# Python, make and a C++ compiler. They live only in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first, so source edits reuse the cached install layer.
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` script would run the build before the sources
# are here. It also skips better-sqlite3's install script, so that one is rebuilt explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund
RUN npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY src ./src
# The web console's sources; the build writes its static files to dist/console.
COPY console ./console
COPY examples ./examples
# The durabletask protocol files the gRPC service loads at start-up (with their licence).
COPY proto ./proto
RUN npm run build
# Leaves node_modules with production dependencies only. The addon's C sources and object
# files (about 25 MB) are not needed to load it: only build/Release/better_sqlite3.node is.
RUN npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target

# ---- runtime: production dependencies and the compiled output, nothing else -------------
FROM node:22-slim AS runtime
ENV NODE_ENV=production
# The database lives on the volume; everything else in the image is read-only at run time.
ENV WORKFLOWD_DB=/data/workflowd.db
WORKDIR /app
# package.json is needed at run time: its "type": "module" makes Node load dist/ as ESM.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
# The image's `node` user (uid/gid 1000) must own the volume's mount point: Docker copies
# this ownership into a new named volume, and workflowd creates the database file there.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME /data
# Numeric, so Kubernetes' runAsNonRoot can verify it (a user name cannot be checked).
USER 1000:1000
# HTTP API (DAPR_HTTP_PORT), durabletask gRPC (DAPR_GRPC_PORT), Prometheus metrics
# (DAPR_METRICS_PORT): daprd's defaults, which are workflowd's defaults too.
EXPOSE 3500 50001 9090
# Slim images have no curl: ask Node. healthz needs no API token; 204 means ready.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.DAPR_HTTP_PORT || 3500}/v1.0/healthz`, { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so `docker stop` drains in-flight
# steps and closes the database (main.ts) instead of being killed after the stop timeout.
CMD ["node", "dist/src/main.js"]
