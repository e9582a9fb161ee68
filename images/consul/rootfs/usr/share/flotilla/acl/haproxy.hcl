# HAProxy's agent: write only its own node (agents are named haproxy-<hostname>), read
# the catalog (the webapp's SRV records over DNS). It can register no service.
node_prefix "haproxy-" {
  policy = "write"
}
agent_prefix "haproxy-" {
  policy = "write"
}
node_prefix "" {
  policy = "read"
}
service_prefix "" {
  policy = "read"
}
