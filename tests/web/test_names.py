"""Names come from the roster everywhere (issue 18): a member who renames himself "Ms. Kim" in
a profile, a pending joiner who asks to join as "Ms. Kim", and a message stamped in the year
2100, as the rendered chat page and the CLI listings show them to a classmate."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from peer.identity import load_membership
from peer.log import hlc, make_event
from storage import Store
from tests.cli.test_curriculum_cli import share
from tests.helpers import ClassDirs, make_class, pc_ok
from tests.web.conftest import Ui, open_ui

YEAR_2100_MS = int(dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)


def _say(data_dir: Path, text: str) -> str:
    return pc_ok(data_dir, "chat", "send", text).out.split()[-1]


def _forge_from_2100(data_dir: Path, text: str) -> str:
    """A chat event signed by ``data_dir``'s own key but stamped in the year 2100, as a
    student with a doctored clock (or the project's own API) can make."""
    me = load_membership(data_dir)
    store = Store.open(data_dir)
    try:
        seq, head = store.vector()[me.peer_id]
        event = make_event(
            me.signing_key,
            seq=seq + 1,
            prev=head,
            ts=hlc.from_ms(YEAR_2100_MS),
            kind="chat",
            body={"room": "general", "text": text},
        )
        assert store.ingest([event.raw]).rejected == ()
    finally:
        store.close()
    return event.id.hex()


@pytest.fixture(scope="module")
def forged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("names")
    dirs: ClassDirs = make_class(root, 2, ["Ms. Kim", "Ada", "Ben"])
    ada, ben = dirs.students
    ids = {"teacher": _say(dirs.instructor, "Welcome, class")}
    # Ben, a member, claims the instructor's name in a profile event and speaks as her.
    ben_me = load_membership(ben)
    ben_store = Store.open(ben)
    try:
        ben_store.append(ben_me.signing_key, "profile", {"name": "Ms. Kim", "role": "instructor"})
    finally:
        ben_store.close()
    ids["ben"] = _say(ben, "Homework is cancelled")
    statement = root / "statement.md"
    statement.write_text("Ignore the real homework.\n")
    ids["problem"] = pc_ok(
        ben, "problem", "publish", "--title", "New homework", "--statement-file", str(statement)
    ).out.strip()
    ids["future"] = _forge_from_2100(ben, "I stay at the bottom forever")
    # A stranger with the open invite asks to join as "Ms. Kim"; nobody admits her.
    sybil = root / "sybil"
    pc_ok(sybil, "init", "--name", "Ms. Kim", "--invite", dirs.invite)
    ids["sybil"] = _say(sybil, "Send me your passwords")
    for source in (dirs.instructor, ben, sybil):
        share(source, ada)
    ids["later"] = _say(ada, "A real message, after all of those arrived")  # arrives last
    return {"dirs": dirs, "ids": ids, "sybil": sybil}


@pytest.fixture
def ada_ui(forged: dict[str, object]) -> Iterator[Ui]:
    dirs = forged["dirs"]
    assert isinstance(dirs, ClassDirs)
    yield from open_ui(dirs.students[0])


def _articles(html: str) -> dict[str, str]:
    """Message id -> the text of its header, in page order."""
    found = re.findall(
        r'<article[^>]* id="m-([0-9a-f]+)".*?<header[^>]*>(.*?)</header>', html, re.S
    )
    return {mid: re.sub(r"<[^>]+>", "", header) for mid, header in found}


def test_the_chat_page_names_people_by_the_roster(ada_ui: Ui, forged: dict[str, object]) -> None:
    ids = forged["ids"]
    assert isinstance(ids, dict)
    ada_ui.sign_in()
    page = ada_ui.client.get("/chat?room=general")
    assert page.status_code == 200
    shown = _articles(page.text)
    assert {v for k, v in ids.items() if k != "problem"} <= set(shown)
    # Only the roster's instructor is "Ms. Kim" with the instructor badge.
    assert "Ms. Kim" in shown[ids["teacher"]] and "instructor" in shown[ids["teacher"]]
    # A profile event changes no shown name: Ben stays Ben, with no badge.
    for mine in (ids["ben"], ids["future"]):
        assert "Ben" in shown[mine] and "Kim" not in shown[mine]
        assert "instructor" not in shown[mine]
    # The pending joiner is visibly marked in text, never a plain "Ms. Kim".
    assert "Ms. Kim (pending)" in shown[ids["sybil"]]
    assert "instructor" not in shown[ids["sybil"]]
    # The 2100 message sorts where it arrived: before what arrived after it.
    order = list(shown)
    assert order.index(ids["future"]) < order.index(ids["later"])
    assert order[-1] == ids["later"]


def test_a_problem_page_names_its_author_by_the_roster(
    ada_ui: Ui, forged: dict[str, object]
) -> None:
    ids = forged["ids"]
    assert isinstance(ids, dict)
    ada_ui.sign_in()
    page = ada_ui.client.get(f"/problems/{ids['problem']}")
    assert page.status_code == 200
    meta = re.search(r'<p class="meta">(.*?)</p>', page.text, re.S)
    assert meta is not None
    assert "Ben" in meta.group(1) and "Kim" not in meta.group(1)


def test_cli_listings_name_people_by_the_roster(forged: dict[str, object]) -> None:
    dirs, sybil = forged["dirs"], forged["sybil"]
    assert isinstance(dirs, ClassDirs) and isinstance(sybil, Path)
    ada = dirs.students[0]
    log = pc_ok(ada, "chat", "log").out.splitlines()
    texts = [line.split(": ", 1)[0] for line in log]
    by_text = dict(zip([line.rsplit(": ", 1)[-1] for line in log], texts, strict=True))
    assert "Ms. Kim" in by_text["Welcome, class"]
    assert (
        "Ben" in by_text["Homework is cancelled"] and "Kim" not in by_text["Homework is cancelled"]
    )
    assert "Ms. Kim (pending)" in by_text["Send me your passwords"]
    [problem] = pc_ok(ada, "problem", "list", "--json").json()
    assert problem["author_name"] == "Ben"
    assert log[-1].endswith("A real message, after all of those arrived")
    listed = pc_ok(ada, "chat", "log", "--json").json()
    assert [m["text"] for m in listed][-2:] == [
        "I stay at the bottom forever",
        "A real message, after all of those arrived",
    ]
    # peers: the roster's names, the pending mark, the badge only for the instructor key.
    share(sybil, ada)
    peers = {p["peer_id"]: p for p in pc_ok(ada, "peers", "--json").json()}
    named = {p["name"]: p["role"] for p in peers.values()}
    assert named == {"Ms. Kim": "instructor", "Ben": None, "Ms. Kim (pending)": None}
