# wardwatch image: one executable, `agent` or `collector` chosen by the command.
# Build:   docker build -t wardwatch .
# Agent on a mirror port (host network, raw capture capability):
#   docker run --network host --cap-add NET_RAW --cap-add NET_ADMIN -e WARDWATCH_TOKEN=... -v /etc/wardwatch:/etc/wardwatch:ro \
#     wardwatch agent --interface eth1 --collector wss://collector:7411 --site /etc/wardwatch/site.yaml \
#     --tls-ca /etc/wardwatch/tls/ca.crt --tls-cert /etc/wardwatch/tls/agent-ID.crt --tls-key /etc/wardwatch/tls/agent-ID.key
# Collector (certificates from deploy/make-certs.sh):
#   docker run -p 7411:7411 -v wardwatch-data:/var/lib/wardwatch -v /etc/wardwatch:/etc/wardwatch:ro wardwatch \
#     collector --listen 0.0.0.0:7411 --db /var/lib/wardwatch/wardwatch.db --tokens /etc/wardwatch/tokens \
#     --tls-cert /etc/wardwatch/tls/collector.crt --tls-key /etc/wardwatch/tls/collector.key \
#     --tls-ca /etc/wardwatch/tls/ca.crt --tls-client-cert
# Node 22 LTS (maintained; Node 20 reached end of life in April 2026). package.json keeps engines >=20.

FROM node:22-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY agent ./agent
COPY collector ./collector
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
# libpcap for the capture binding; setcap grants raw capture to node itself so the agent runs as a
# non-root user (only cap_net_raw: a file capability outside the container's bounding set would stop exec).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libcap2-bin tini \
 && setcap cap_net_raw=eip "$(readlink -f /usr/local/bin/node)" \
 && apt-get purge -y libcap2-bin && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/wardwatch /etc/wardwatch && chown node:node /var/lib/wardwatch
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/native ./native
COPY --from=build /app/dist ./dist
COPY rules ./rules
COPY fixtures/demo ./fixtures/demo
COPY fixtures/site.yaml ./fixtures/site.yaml
COPY deploy/wardwatch.example.yaml /etc/wardwatch/wardwatch.example.yaml
ENV NODE_ENV=production STATE_DIRECTORY=/var/lib/wardwatch
USER node
VOLUME ["/var/lib/wardwatch"]
EXPOSE 7411
# The collector answers /healthz; for an agent container the compose file replaces this check. It tries https first
# (a TLS collector; certificate not verified: this is a liveness probe of 127.0.0.1 inside the container, whose
# certificate names the collector's public name) and falls back to http; /healthz needs no client certificate.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const p=process.env.WARDWATCH_HEALTH_PORT||7411;const get=(m,o,k)=>require(m).get({host:'127.0.0.1',port:p,path:'/healthz',timeout:4000,...o},r=>process.exit(r.statusCode===200?0:1)).on('error',k).on('timeout',()=>process.exit(1));get('https',{rejectUnauthorized:false},()=>get('http',{},()=>process.exit(1)))"]
ENTRYPOINT ["tini", "--", "node", "/app/dist/bin/wardwatch.js"]
CMD ["--help"]
