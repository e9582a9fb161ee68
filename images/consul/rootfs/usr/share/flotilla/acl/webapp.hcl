# Webapp agents: write only their own node (named webapp-<hostname>) and register only
# the webapp service; read nodes (their own registration, the rejoin loop's member list).
node_prefix "webapp-" {
  policy = "write"
}
agent_prefix "webapp-" {
  policy = "write"
}
node_prefix "" {
  policy = "read"
}
service "@WEBAPP_SERVICE@" {
  policy = "write"
}
