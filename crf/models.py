"""Tables of the crf app (built by a later issue)."""
