"""Hypothesis profiles for the model-based reliability test.

`ci` is what `python3 tasks.py test` runs by default (bounded, derandomized: the same examples on every
run); `long` explores many more, on demand: `python3 tasks.py test tests/model --hypothesis-profile=long`.
"""

from __future__ import annotations

from tests.model.profiles import register_profiles

register_profiles()
