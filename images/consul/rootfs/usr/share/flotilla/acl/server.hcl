# Consul servers' agent token: register any node (servers reap and re-register members),
# operate their own agent, read every service.
node_prefix "" {
  policy = "write"
}
agent_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "read"
}
