"""Google Gemini (AI Studio) and Vertex AI: requests, responses, embeddings, Imagen and Gemini images."""
