"""Mistral: chat with its own tool and response quirks, and FIM completions."""
