"""Azure OpenAI: deployment and resource URLs, auth headers, OpenAI's wire format otherwise."""
