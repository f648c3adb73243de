"""WebSocket sessions relayed to OpenAI and Azure OpenAI realtime."""
