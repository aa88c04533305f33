"""``fakenews compare``: ``result`` (the result types and their tables), ``runs`` (reading
evaluated run dirs), ``stage`` (:func:`compare`), ``report`` and ``plots`` (renderers: they
import the result types, never the stage)."""

from fakenews.comparison.result import CROSS_LABEL, ComparisonResult
from fakenews.comparison.stage import compare

__all__ = ["CROSS_LABEL", "ComparisonResult", "compare"]
