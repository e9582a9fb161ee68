# Metrics for Prometheus at /v1/agent/metrics?format=prometheus (docs/monitoring.md):
# kept 60 s after their last update, names without the node name (stable series).
# Reading them needs agent:read (the flotilla-prometheus ACL policy).
telemetry {
  prometheus_retention_time = "60s"
  disable_hostname = true
}
