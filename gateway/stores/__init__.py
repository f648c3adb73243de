"""State the gateway keeps for clients: stored Responses API answers and conversations."""
