"""The client API formats: request schemas, Anthropic Messages and OpenAI Responses mappings, token counts."""
