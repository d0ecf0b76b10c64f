# Gatehouse: one image for `gatehouse serve` (the default), `operator`, `migrate` and the CLI commands.
#   docker build -t gatehouse:0.1.0 .        (docs/image.md: kind, minikube, and the build the tests run)

# Compiles the TypeScript. Nothing here reaches the final image but the Node.js binary and dist/.
FROM node:24-bookworm AS build
# Behind a TLS-intercepting proxy npm needs its CA: `--build-arg NODE_EXTRA_CA_CERTS=<file in the build container>`.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
# No package the compiler needs has an install script (better-sqlite3 13 ships prebuilt binaries); skipping them
# keeps the devDependency `node` from fetching a second Node.js that this stage already has.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build

# Runtime dependencies alone, in their own stage so that a change to src/ does not install them again.
FROM node:24-bookworm AS runtime-deps
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
# better-sqlite3's SQLite sources and other systems' binaries serve installs elsewhere: this image loads one
# prebuilt binary (25 MB less).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
  && find node_modules/better-sqlite3/prebuilds -type f ! -name "linux-$(node -p process.arch).node" -delete

# No npm, no compiler, no package cache: Node.js from the build stage on Debian's slim base.
FROM debian:bookworm-slim
# A numeric UID and GID, so that Kubernetes' runAsNonRoot can check them without reading /etc/passwd. /data is the
# only place the server writes (the SQLite database and its generated system secret), so the root filesystem can be
# mounted read-only.
RUN groupadd --system --gid 10001 gatehouse \
  && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin gatehouse \
  && install -d -o 10001 -g 10001 -m 0700 /data \
  && ln -s /app/bin/gatehouse.js /usr/local/bin/gatehouse
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=runtime-deps /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
COPY package.json ./
COPY bin/ bin/
ENV DATABASE_URL=sqlite:///data/gatehouse.sqlite
VOLUME ["/data"]
USER 10001:10001
EXPOSE 4444
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
