"""The identities file: who the user has been on the embedded server, kept private and whole."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tui.identities import (
    MAX_SUBJECT_LENGTH,
    Identity,
    IdentityStore,
    UnknownIdentity,
    asked_for,
    refusal_at_start,
    subject_for,
    write_private_file,
)

ADA = Identity("provider", "dr-ada-lovelace", "Dr Ada Lovelace", "sbk_ada")
SAM = Identity("client", "sam", "Sam", "sbk_sam")
ALAN = Identity("provider", "dr-alan-turing", "Dr Alan Turing", "sbk_alan")


@pytest.fixture
def store(tmp_path: Path) -> IdentityStore:
    return IdentityStore(tmp_path / "data")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_file_is_an_empty_store(store: IdentityStore) -> None:
    assert store.all() == []
    assert store.current() is None
    assert not store.path.exists()


def test_added_identities_are_kept_in_order_and_the_last_is_current(
    store: IdentityStore,
) -> None:
    store.add(ADA)
    store.add(SAM)
    assert store.all() == [ADA, SAM]
    assert store.current() == SAM
    again = IdentityStore(store.folder)  # another app reading the same folder
    assert again.all() == [ADA, SAM]
    assert again.current() == SAM


def test_add_without_making_current_keeps_the_one_in_use(store: IdentityStore) -> None:
    store.add(SAM)
    store.add(ADA, make_current=False)
    store.add(ALAN, make_current=False)
    assert store.current() == SAM
    assert [i.subject for i in store.all()] == ["sam", "dr-ada-lovelace", "dr-alan-turing"]


def test_adding_the_same_person_again_replaces_it(store: IdentityStore) -> None:
    store.add(ADA)
    store.add(SAM)
    renewed = Identity("provider", "dr-ada-lovelace", "Dr Ada Lovelace", "sbk_new")
    store.add(renewed, make_current=False)
    assert store.all() == [SAM, renewed]
    assert store.current() == SAM


def test_the_same_subject_in_another_role_is_another_identity(store: IdentityStore) -> None:
    as_client = Identity("client", "dr-ada-lovelace", "Ada", "sbk_c")
    store.add(ADA)
    store.add(as_client)
    assert store.all() == [ADA, as_client]
    assert store.use("dr-ada-lovelace", "provider") == ADA
    assert store.current() == ADA


def test_use_switches_and_says_so_when_there_is_no_such_identity(store: IdentityStore) -> None:
    store.add(ADA)
    store.add(SAM)
    assert store.use("dr-ada-lovelace", "provider") == ADA
    assert IdentityStore(store.folder).current() == ADA
    with pytest.raises(UnknownIdentity, match="no client 'dr-ada-lovelace'"):
        store.use("dr-ada-lovelace", "client")
    assert store.current() == ADA


def test_forget_all_empties_the_store(store: IdentityStore) -> None:
    store.add(ADA)
    store.forget_all()
    assert store.all() == []
    assert store.current() is None
    store.forget_all()  # twice is fine


def test_the_file_is_private_and_replaced_whole(store: IdentityStore) -> None:
    store.add(ADA)
    assert mode_of(store.path) == 0o600
    first_inode = store.path.stat().st_ino
    store.add(SAM)
    assert mode_of(store.path) == 0o600
    # A new file renamed over the old one: a reader holding the old one never sees a mixture.
    assert store.path.stat().st_ino != first_inode
    assert sorted(p.name for p in store.folder.iterdir()) == ["identities.json"]
    saved = json.loads(store.path.read_text())
    assert saved["current"] == {"role": "client", "subject": "sam"}
    assert saved["identities"][0]["token"] == "sbk_ada"


def test_a_loose_file_mode_is_tightened_on_the_next_write(store: IdentityStore) -> None:
    store.add(ADA)
    os.chmod(store.path, 0o644)
    store.add(SAM)
    assert mode_of(store.path) == 0o600


def test_a_failed_write_raises_and_leaves_no_temporary_file(store: IdentityStore) -> None:
    store.path.mkdir(parents=True)  # something in the way that a rename cannot replace
    (store.path / "keep").write_text("x")
    assert store.all() == []  # unreadable counts as empty
    with pytest.raises(OSError, match="identities"):
        store.add(SAM)
    assert sorted(p.name for p in store.folder.iterdir()) == ["identities.json"]
    assert (store.path / "keep").read_text() == "x"


def test_write_private_file_replaces_a_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"identities": [{"role": "admin", "subject": "x", "name": "x", "token": "t"}]}',
        b'{"version": 2}',
        b"\xff\xfe",
    ],
)
def test_a_corrupt_file_is_moved_aside_and_the_store_starts_empty(
    store: IdentityStore, content: bytes
) -> None:
    store.folder.mkdir(parents=True)
    store.path.write_bytes(content)
    assert store.all() == []
    aside = store.folder / "identities.json.corrupt"
    assert aside.read_bytes() == content
    assert not store.path.exists()
    store.add(SAM)
    assert store.all() == [SAM]


def test_an_identity_is_a_provider_or_a_client() -> None:
    with pytest.raises(ValueError, match="not 'admin'"):
        Identity("admin", "root", "Root", "sbk_root")


def test_a_current_that_names_nobody_is_no_current(store: IdentityStore) -> None:
    store.folder.mkdir(parents=True)
    store.path.write_text('{"current": {"role": "client", "subject": "ghost"}, "identities": []}')
    assert store.current() is None


def test_asked_for_finds_one_identity_by_name_id_or_role_and_id(store: IdentityStore) -> None:
    sam_provider = Identity("provider", "sam", "Sam", "sbk_p")
    store.add(ADA)
    store.add(SAM)
    store.add(sam_provider, make_current=False)
    assert asked_for(store, "dr ada LOVELACE ") == ADA
    assert asked_for(store, "dr-ada-lovelace") == ADA
    assert asked_for(store, "provider:sam") == sam_provider
    with pytest.raises(UnknownIdentity) as raised:
        asked_for(store, "sam")
    assert str(raised.value) == (
        "--as 'sam' names more than one identity: give client:sam or provider:sam"
    )
    assert store.current() == SAM, "looking changes nothing"


# --- subjects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("Dr Ada Lovelace", "dr-ada-lovelace"),
        ("Dr. Ada  Lovelace ", "dr-ada-lovelace"),
        ("Zoë O'Neil", "zoe-o-neil"),
        ("José Núñez-García", "jose-nunez-garcia"),
        ("Søren Kierkegaard", "soren-kierkegaard"),
        ("Straße 12", "strasse-12"),
        ("Łukasz", "lukasz"),
        ("GRACE HOPPER PHYSIO", "grace-hopper-physio"),
        ("李小龙", "user"),
        ("Ольга", "user"),
        ("", "user"),
        ("---", "user"),
    ],
)
def test_subjects_are_readable_ascii_slugs(name: str, subject: str) -> None:
    assert subject_for(name, set()) == subject


def test_subjects_are_made_unique_with_a_number() -> None:
    taken = {"dr-ada-lovelace", "dr-ada-lovelace-2"}
    assert subject_for("Dr Ada Lovelace", taken) == "dr-ada-lovelace-3"
    assert subject_for("王", {"user"}) == "user-2"


def test_subjects_are_at_most_64_characters_even_with_a_number() -> None:
    name = "Professor " + "Very " * 30 + "Long"
    first = subject_for(name, set())
    assert len(first) <= MAX_SUBJECT_LENGTH
    assert first.startswith("professor-very-very")
    assert not first.endswith("-")
    second = subject_for(name, {first})
    assert len(second) <= MAX_SUBJECT_LENGTH
    assert second.endswith("-2")
    assert second != first
    assert "--" not in second


def test_as_is_refused_at_start_unless_a_saved_identity_or_the_sample_practice_has_it(
    store: IdentityStore,
) -> None:
    samples = ("Dr Ada Lovelace", "Grace Hopper Physio")
    assert refusal_at_start(store, "Nobody", samples) == (
        "--as 'Nobody': no identities are saved yet; start without --as to make one"
    )
    for sample in ("dr ada lovelace", "grace-hopper-physio", "provider:dr-ada-lovelace"):
        assert refusal_at_start(store, sample, samples) is None, "the demo may yet save it"
    assert refusal_at_start(store, "dr ada lovelace") is not None, "without the demo, nobody"
    store.add(Identity("client", "sam", "Sam", "sbk_sam"))
    assert refusal_at_start(store, " sam ") is None
    assert refusal_at_start(store, "Kim", samples) == (
        "--as 'Kim' names no saved identity; saved: Sam (client, sam)"
    )
