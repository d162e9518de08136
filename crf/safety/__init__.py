"""Safety: the alerts sent for serious events (PROTOCOL §9)."""
