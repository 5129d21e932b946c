# syntax=docker/dockerfile:1
#
# The image of one of the workspace's servers, named by two build arguments:
#   PACKAGE_DIR  services/todo-read, services/todo-write (on AWS and in docker-compose.yml)
#                or packages/edge (the load-balancer stand-in, docker-compose.yml only)
#   PORT         the port it listens on (3000, 3001, 8080)
# Build from the repository root (the workspace is the build context), e.g.
#   docker build --build-arg PACKAGE_DIR=services/todo-read --build-arg PORT=3000 -t taskoverflow/todo-read .
# Stage "build" compiles the package and the workspace packages it uses; "runtime" holds only
# its production files, made self-contained by `pnpm deploy`, and runs them as a non-root user.

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
# Amazon RDS certificate authorities: on AWS, DATABASE_URL verifies the database server
# against them (sslmode=verify-full&sslrootcert=/etc/ssl/certs/rds-global-bundle.pem).
ADD --chmod=644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
WORKDIR /app
# Owned by root and read-only to the server, which writes nothing to disk.
COPY --from=build /deploy ./
USER node
ENV PORT=${PORT}
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/api/v1/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/server.js"]
