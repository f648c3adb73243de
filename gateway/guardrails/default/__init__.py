"""The default guardrail plugin: its registry of checks and their implementations, one module per family."""
