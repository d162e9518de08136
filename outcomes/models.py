"""Tables of the outcomes app (built by a later issue)."""
