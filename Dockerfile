# egress-verify: one image for the controller (`run`) and the probe (`probe`).
# NODE_IMAGE is the base for both stages, pinned by digest: a tag can be moved under a release.
# Refresh it with `docker buildx imagetools inspect node:22-bookworm-slim` (docs/install.md, "The image").
# A locally made base works where no registry is reachable (scripts/build-image.sh --local-base
# passes it by digest too). It needs node, npm, curl, ping and CA certificates.
ARG NODE_IMAGE=docker.io/library/node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY probes ./probes
COPY reports/report.schema.json ./reports/
COPY scripts/bundle-probe.ts ./scripts/
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="egress-verify" \
      org.opencontainers.image.description="Proves a workload cannot reach the internet except through its egress companion" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# The curl and icmp checks run the real curl and iputils ping; the official slim image ships
# neither. The probe has no capabilities, so ping opens an ICMP datagram socket, which the probe
# pod's net.ipv4.ping_group_range allows. The runtime runs node only: npm, npx, corepack and yarn
# are package managers an attacker in a probe pod could use, and weight (scripts/build-image.sh
# checks they are gone).
RUN if ! command -v curl >/dev/null || ! command -v ping >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends curl ca-certificates iputils-ping && rm -rf /var/lib/apt/lists/*; \
    fi && \
    rm -rf /usr/local/lib/node_modules /usr/lib/node_modules /opt/yarn-* \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg \
      /usr/bin/npm /usr/bin/npx /usr/bin/corepack
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY probes/catalogue.yaml probes/catalogue.schema.json probes/plan.schema.json probes/wire.schema.json ./probes/
COPY reports/report.schema.json ./reports/
ENV NODE_ENV=production
# Pod Security "restricted": a numeric non-root user, and nothing written to the image.
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["--help"]
