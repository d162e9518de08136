"""Tables of the randomization app (built by a later issue)."""
