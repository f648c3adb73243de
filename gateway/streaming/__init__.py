"""SSE and AWS event-stream decoding, relays, stream translation, client-format encoders, how a stream ended."""
