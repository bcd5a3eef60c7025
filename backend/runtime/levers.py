"""The server's speed levers, each on unless taken away.

`--without listing-cache,checkpointer` turns levers off, so that `make bench` can measure what
each one buys (one taken away at a time) and so that a suspected lever can be ruled out in the
field. None of them changes an answer: with or without each, the server says the same things.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

DESCRIPTIONS = {
    "listing-cache": "GET /availability answers kept, encoded, until a change or the clock could"
    " alter them",
    "pushed-changes": "the SQLite writer hands each commit's changes to the feed before it"
    " answers, instead of the feed reading them back from the log",
    "checkpointer": "SQLite checkpoints run on a thread of their own, not in a commit",
    "auth-cache": "a looked-up token is trusted until a revocation is seen, not for a second",
    "lean-writes": "a hold of one open slot, and the confirm of a one-slot hold, are one"
    " conditional UPDATE each (over PostgreSQL one round trip), and writes that refuse before"
    " they change anything run without a SAVEPOINT of their own",
}


@dataclass(frozen=True)
class Levers:
    listing_cache: bool = True
    pushed_changes: bool = True
    checkpointer: bool = True
    auth_cache: bool = True
    lean_writes: bool = True

    @classmethod
    def without(cls, names: Iterable[str]) -> Levers:
        """Every lever but these (names as `--without` takes them); ValueError names an unknown
        one."""
        off: dict[str, bool] = {}
        for name in names:
            if name not in DESCRIPTIONS:
                raise ValueError(name)
            off[name.replace("-", "_")] = False
        return cls(**off)

    def taken_away(self) -> list[str]:
        return [f.name.replace("_", "-") for f in fields(self) if not getattr(self, f.name)]


ALL = Levers()
assert {f.name.replace("_", "-") for f in fields(Levers)} == set(DESCRIPTIONS)
