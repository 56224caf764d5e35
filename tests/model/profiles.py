"""The hypothesis settings of the model-based reliability test, as named profiles.

`model-ci` bounds the run (CI, every `python3 tasks.py test`): a fixed set of examples (derandomized),
no example database, well under 90 s on two cores. `long` is for a deliberate hunt:
`python3 tasks.py test tests/model --hypothesis-profile=long` (a fresh random seed every run; a
failure prints the `@reproduce_failure` blob that replays it).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "report_multiple_bugs": False,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
}
CI = {"max_examples": 40, "stateful_step_count": 40, "derandomize": True, **_COMMON}
LONG = {"max_examples": 400, "stateful_step_count": 60, "derandomize": False, **_COMMON}


def register_profiles() -> None:
    """Idempotent: the module conftest and the test module both call it."""
    settings.register_profile("model-ci", **CI)
    settings.register_profile("long", **LONG)


def chosen() -> settings:
    """The settings for this run: `long` when it was asked for, otherwise the bounded CI ones."""
    register_profiles()
    name = settings.get_current_profile_name()
    return settings.get_profile("long" if name == "long" else "model-ci")
