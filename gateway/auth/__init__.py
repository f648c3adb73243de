"""Provider credentials that need I/O: Vertex AI, Azure Entra and AWS STS fetchers, and their token cache."""
