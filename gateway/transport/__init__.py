"""The upstream HTTP client and everything on the wire: SSRF checks, upload bodies, multipart, image fetches."""
