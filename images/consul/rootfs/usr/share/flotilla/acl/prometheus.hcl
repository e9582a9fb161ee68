# Prometheus: read every agent's metrics (/v1/agent/metrics needs agent:read) and the
# node list; it can write nothing.
agent_prefix "" {
  policy = "read"
}
node_prefix "" {
  policy = "read"
}
