"""Platform infrastructure every app uses: the e-mail outbox, the JSON API's
plumbing, navigation, request guards and HTTP error pages.

The bottom floor: it imports no app of the trial (``perform``, ``randomization``,
``crf``, ``outcomes``, ``demo``), which the layer check in ``make lint``
enforces (README "Architecture").
"""
