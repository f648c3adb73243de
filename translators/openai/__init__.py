"""OpenAI-compatible providers: auth and request headers and the body rewrites they need."""
