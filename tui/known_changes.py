"""The changes of the feed this app knows how to show: a change of a kind it does not know (one
a newer server logs) is passed by, on the live feed and in GET /changes alike, so that what a
server adds later never stops an older app. A field it does not know is passed by as well (the
answers' Structs ignore fields they do not name). No Textual here."""

from __future__ import annotations

from typing import get_args

import msgspec

from shared.wire import Change, ChangeKind, Changes

KNOWN_KINDS: frozenset[str] = frozenset(get_args(ChangeKind))


class _Head(msgspec.Struct):
    """What every change has, whatever its kind: where it stands in the log, and its kind."""

    seq: int
    kind: str


class _AnyChanges(msgspec.Struct, rename="camel"):
    """GET /changes with each change left undecoded until its kind is known."""

    changes: list[msgspec.Raw]
    last_seq: int


_head = msgspec.json.Decoder(_Head)
_change = msgspec.json.Decoder(Change)
_any_changes = msgspec.json.Decoder(_AnyChanges)


def decode_change(data: bytes | str) -> Change | int:
    """One change of the feed: the Change when its kind is known, else its seq alone (the
    position to carry on after)."""
    head = _head.decode(data)
    if head.kind not in KNOWN_KINDS:
        return head.seq
    return _change.decode(data)


def decode_changes(data: bytes | str) -> Changes:
    """GET /changes' answer, the changes of kinds not known left out (its lastSeq is past them
    too)."""
    answer = _any_changes.decode(data)
    known = [change for raw in answer.changes if isinstance(change := decode_change(raw), Change)]
    return Changes(changes=known, last_seq=answer.last_seq)
