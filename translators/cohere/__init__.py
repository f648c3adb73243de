"""Cohere v2 chat and embeddings."""
