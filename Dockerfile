# syntax=docker/dockerfile:1
#
# The image of one of the workspace's servers, named by two build arguments:
#   PACKAGE_DIR  services/todo-read, services/todo-write (on AWS and in docker-compose.yml)
#                or packages/edge (the load-balancer stand-in, docker-compose.yml only)
#   PORT         the port it listens on (3000, 3001, 8080)
#   RDS_CA_BUNDLE_SHA256  stage "aws" only: the SHA-256 of Amazon's RDS CA bundle (docs/deploy.md)
# Build from the repository root (the workspace is the build context), e.g.
#   docker build --target runtime --build-arg PACKAGE_DIR=services/todo-read --build-arg PORT=3000 \
#     -t taskoverflow/todo-read .
# Reproducible builds pin the base image by digest too (docs/deploy.md), e.g.
#   --build-arg NODE_IMAGE=node:24-alpine@sha256:<digest>
# Stage "build" compiles the package and the workspace packages it uses; "runtime" holds only
# its production files, made self-contained by `pnpm deploy`, and runs them as a non-root user
# (docker-compose.yml builds it); "aws" is runtime plus the RDS CA bundle, verified against
# RDS_CA_BUNDLE_SHA256 (the last stage: what Pulumi builds, and a plain `docker build`).

ARG NODE_IMAGE=node:24-alpine

FROM ${NODE_IMAGE} AS build
ARG PACKAGE_DIR
ENV CI=true
WORKDIR /workspace
# pnpm at the version package.json pins (packageManager), in its own layer.
COPY package.json ./
RUN npm install --global --no-fund --no-audit "pnpm@$(node -p "require('./package.json').packageManager.split('@')[1]")"
COPY . .
RUN test -f "${PACKAGE_DIR}/package.json" || { \
      echo "PACKAGE_DIR must name the workspace package to build (services/todo-read, services/todo-write or packages/edge), got '${PACKAGE_DIR}'" >&2; \
      exit 1; \
    }
# Only what the package needs, with the root's dev tools (TypeScript); the store survives builds.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --store-dir /pnpm/store --filter-prod "$(node -p "require('./${PACKAGE_DIR}/package.json').name")..."
RUN pnpm exec tsc -b "${PACKAGE_DIR}"
# --legacy: pnpm 10 deploys workspace packages by copying them, dist/ included, unless the
# workspace injects them (inject-workspace-packages), which this one does not. The web UI
# (packages/web-ui/dist, built by its prepare script during the install above) ships this
# way inside todo-read's deployment.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm --filter "$(node -p "require('./${PACKAGE_DIR}/package.json').name")" deploy --prod --legacy --store-dir /pnpm/store /deploy

FROM ${NODE_IMAGE} AS runtime
ARG PORT
RUN test -n "${PORT}" || { echo "PORT must be the port the server listens on (3000, 3001 or 8080)" >&2; exit 1; }
ENV NODE_ENV=production
# The V8 heap sizing the services run with (and the edge stand-in built from this image):
# SERVICE_NODE_OPTIONS in packages/routing is its home, infra/test/node-options.test.ts checks
# this copy. The task definition sets it too.
ENV NODE_OPTIONS="--max-semi-space-size=16 --max-old-space-size=512"
WORKDIR /app
# Owned by root and read-only to the server, which writes nothing to disk.
COPY --from=build /deploy ./
USER node
ENV PORT=${PORT}
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/api/v1/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/server.js"]

FROM runtime AS aws
# Amazon RDS certificate authorities: on AWS, DATABASE_URL verifies the database server
# against them (sslmode=verify-full&sslrootcert=/etc/ssl/certs/rds-global-bundle.pem).
# RDS_CA_BUNDLE_SHA256 (required) is the bundle's SHA-256, so a changed or tampered download
# fails the build instead of shipping; docs/deploy.md says how to compute and update it.
# The check runs as runtime's non-root user; ADD writes as root whatever USER says (files
# owned by root, 644: readable, not writable, by the server), so no USER switch is needed.
ARG RDS_CA_BUNDLE_SHA256
RUN echo "${RDS_CA_BUNDLE_SHA256}" | grep -Eq '^[0-9a-f]{64}$' || { \
      echo "RDS_CA_BUNDLE_SHA256 must be the SHA-256 (64 hex digits) of https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem, see docs/deploy.md; got '${RDS_CA_BUNDLE_SHA256}'" >&2; \
      exit 1; \
    }
ADD --checksum=sha256:${RDS_CA_BUNDLE_SHA256} --chmod=644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
