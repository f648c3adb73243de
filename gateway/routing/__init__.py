"""Config schema, plan compiler (and its memo), router over the strategies, conditions, circuit breaker."""
