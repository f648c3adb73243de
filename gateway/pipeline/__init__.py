"""The leaf pipeline: guardrails and cache around one leaf (runner), the upstream call with retries (caller)."""
