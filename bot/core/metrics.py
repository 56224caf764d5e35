"""Metrics: named counters and timing samples, the one place benchmarks and tests read the bot's numbers.

The composition root (`bot.app`) makes one `Metrics` and hands it to what records something; nothing in
the product reads it back. Recording is a dictionary update (a bounded deque append for samples), cheap
enough to leave on. The names in use:

- `db.statements`: SQL statements run on the bot's connection (reads and writes); `db.checkpoints`:
  write-ahead log checkpoints completed
- `scheduler.wakeups`: times the scheduler woke from its sleep to deliver
- `scheduler.round_ms`: milliseconds each delivery round took (their sum is the time spent delivering)
- `outbox.sent`, `outbox.rate_limited`, `outbox.look_ups`: messages accepted by Discord, 429s met,
  channel histories read to settle a send of unknown outcome
- `research.ingest_ms`: milliseconds spent on each collected thread message
- `digest.sent`: weekly digests posted
- `pacer.requests`, `pacer.unpaced`: REST calls that went through the global pacer, and interaction
  calls it let through without pacing; `pacer.wait_ms`: milliseconds each paced call waited for its turn
- `dms.opened`, `dms.reopened`: DM channels opened (then remembered), and remembered ones Discord no
  longer knew, opened again
"""

from __future__ import annotations

from collections import deque

SAMPLES_KEPT = 10_000  # per name: the most recent samples, so a long run cannot grow without bound


class Metrics:
    """Counters (`count`, `counter`) and timing samples (`observe`, `samples`) by name."""

    def __init__(self, samples_kept: int = SAMPLES_KEPT) -> None:
        self._counters: dict[str, int] = {}
        self._samples: dict[str, deque[float]] = {}
        self._totals: dict[str, float] = {}
        self._kept = samples_kept

    def count(self, name: str, n: int = 1) -> None:
        self._counters[name] = self._counters.get(name, 0) + n

    def observe(self, name: str, value: float) -> None:
        samples = self._samples.get(name)
        if samples is None:
            samples = self._samples[name] = deque(maxlen=self._kept)
        samples.append(value)
        self._totals[name] = self._totals.get(name, 0.0) + value

    def counter(self, name: str) -> int:
        """How many times `name` was counted (0 when never)."""
        return self._counters.get(name, 0)

    def samples(self, name: str) -> list[float]:
        """The kept samples of `name`, oldest first."""
        return list(self._samples.get(name, ()))

    def total(self, name: str) -> float:
        """The sum of every value observed for `name`, kept or not."""
        return self._totals.get(name, 0.0)

    def clear(self, name: str | None = None) -> None:
        """Forget one name's counter and samples, or everything."""
        if name is None:
            self._counters.clear()
            self._samples.clear()
            self._totals.clear()
        else:
            self._counters.pop(name, None)
            self._samples.pop(name, None)
            self._totals.pop(name, None)
