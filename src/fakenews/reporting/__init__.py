"""Figures, model cards and reports made from result objects and run dirs.

``model_card`` writes a run dir's ``README.md`` + ``model_card.json``; ``figures`` is the one
Figure -> PNG helper. The renderers of one stage live with its result: ``evaluation/plots``,
``comparison/plots`` and ``comparison/report``.
"""
