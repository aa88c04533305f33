"""Figures, model cards and reports made from result objects and run dirs.

``plots`` turns one run's results into matplotlib figures (it never writes or shows them),
``model_card`` writes a run dir's ``README.md`` + ``model_card.json``, ``compare_plots`` and
``report`` serve ``fakenews compare``.
"""
