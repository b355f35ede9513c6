# syntax=docker/dockerfile:1
# Curt's one image for every role. The container's arguments pick the role:
#   roles: kgs url-service migrate serve
#   docker run IMAGE kgs | url-service | migrate | serve (the default)
# Kubernetes sets `args: [<role>]` and no `command`. How each role is configured: README.md
# (Configuration) and docs/operations.md (Container image). test/e2e/production-build.test.ts runs
# what this file builds, role by role, from a copy of exactly the files copied below.

ARG NODE_IMAGE=node:24-bookworm-slim

# Build: the dev dependencies (TypeScript; Vite for the web app in src/web) compile src/ into dist/
# and build the web app into dist/web; nothing of this stage but dist/ reaches the image.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: compiling needs no dependency's install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/build-web.mjs ./scripts/
COPY src ./src
RUN npm run build

# Runtime: production dependencies only, the compiled code, the migrations; no compiler, no sources.
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="curt" \
      org.opencontainers.image.description="Self-hosted URL shortener: Key Generation Service + URL service on PostgreSQL and Redis" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT"
# HOST: a container's loopback is unreachable from outside it, so `serve` (127.0.0.1 by default) binds
# every interface here; the KGS and the URL service already do. DATA_DIR: `serve`'s embedded database,
# on a volume the `node` user owns.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency has an install script to run (esbuild's, under tsx, is
# a dev dependency's), and none should run unnoticed in the image.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY migrations ./migrations
RUN mkdir /data && chown node:node /data
VOLUME /data
# The files above stay root's and read-only to the process; it runs as the image's unprivileged user.
USER node
# serve and url-service 8080, kgs 7001 (PORT changes them); metrics 9464 (url-service, serve) and
# 9465 (kgs) (METRICS_PORT changes them).
EXPOSE 8080 7001 9464 9465
# Exec form: Node is PID 1 and receives SIGTERM itself. No init is needed: kgs, url-service and serve
# handle SIGTERM/SIGINT (drain, write clicks, give codes back, exit 0; src/core/shutdown.ts), and no
# role starts child processes, so there are no zombies to reap.
# No HEALTHCHECK: the port and path depend on the role, and Kubernetes ignores it for its own probes
# (GET /health for liveness, GET /ready for readiness; docs/operations.md).
ENTRYPOINT ["node", "/app/bin/curt.mjs"]
CMD ["serve"]
