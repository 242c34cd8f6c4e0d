"""Ops alert routing: the dispatcher that delivers `ops.alert_outbox` to the generic webhook,
Slack and PagerDuty (docs/alerts.md)."""
