# syntax=docker/dockerfile:1
# Multi-stage build: dependencies (with the native SQLite module compiled) in one stage, a slim
# runtime image without the compiler toolchain in the other.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# The dashboard: built with Vite (a dev dependency) into dist/web.
FROM node:20-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY web ./web
COPY src/client ./src/client
RUN npm run build:web

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/encoder-fleet
WORKDIR /app
RUN mkdir -p /var/lib/encoder-fleet && chown node:node /var/lib/encoder-fleet
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY drivers ./drivers
COPY openapi ./openapi
COPY --from=web /app/dist/web ./dist/web
USER node
EXPOSE 8080
VOLUME ["/var/lib/encoder-fleet"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/main.ts"]
