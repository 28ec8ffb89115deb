# dify-bridge standalone server: an OpenAI-compatible API and a chat page for Dify apps.
#   docker build -t dify-bridge .
#   docker run --rm -p 5000:5000 --env-file .env -v dify-bridge-data:/data dify-bridge
# Node 24: the embedded SQLite store is node:sqlite (Node >= 22.13).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/plugin-sdk-shim/package.json packages/plugin-sdk-shim/package.json
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY packages ./packages
COPY src ./src
RUN node scripts/build.mjs --standalone

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/plugin-sdk-shim/package.json packages/plugin-sdk-shim/package.json
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=5000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist/standalone.mjs ./dist/standalone.mjs
# The routes come from the same declarations the plugin serves; the chat page from _assets.
COPY settings ./settings
COPY endpoints ./endpoints
COPY _assets ./_assets
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.SERVER_PORT||5000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM lets open streams finish (SHUTDOWN_GRACE seconds, default 30); keep stop_grace_period above it.
STOPSIGNAL SIGTERM
CMD ["node", "dist/standalone.mjs"]
