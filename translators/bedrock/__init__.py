"""AWS Bedrock: Converse requests and streams, tools, embeddings, SigV4 signing, batch inference records."""
