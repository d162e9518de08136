"""The parts of ``benchmarks/randomize.py``: ``seed`` (the trial data),
``enqueue`` (the allocation e-mail enqueue, timed), ``workers`` (threads or
forked processes started together), ``bare_loop`` (the bare SQL path) and
``results`` (the figures and the table).

A package, not modules beside the benchmarks: ``make bench`` runs every
``benchmarks/*.py`` as a benchmark.
"""
