"""Anthropic Messages: the translator, the shared Claude body builder, and Claude on Vertex AI and Bedrock."""
