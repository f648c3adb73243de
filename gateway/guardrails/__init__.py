"""Hooks, the contract between hooks and checks, checks' network access, and the default checks."""
