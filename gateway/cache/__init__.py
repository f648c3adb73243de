"""Response caching: the policy and keys, the memory and Redis backends, the semantic index."""
