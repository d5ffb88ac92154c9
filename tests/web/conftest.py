"""Fixtures for the web UI: a class on disk and the app over one member's store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from starlette.testclient import TestClient

from peer.identity import Membership, load_membership
from peer.web import Access, WebContext, build_app
from storage import AsyncStore, Store
from tests.helpers import ClassDirs, make_class

HOST = "127.0.0.1:8765"
BASE = f"http://{HOST}"


@attrs.define(eq=False)
class Ui:
    """One member's app, a test client for it, and what the tests need to check it."""

    client: TestClient
    access: Access
    me: Membership
    store: Store
    data_dir: Path

    session: str = ""

    def sign_in(self) -> None:
        """A signed session cookie, as the sign-in URL's one-time token gives a browser."""
        if not self.session:
            self.session = self.access.new_session()
        self.client.cookies.set("peerclass_8765", self.session)

    @property
    def csrf(self) -> str:
        sid = self.access.session_of(self.session)
        assert sid is not None, "sign in first"
        return self.access.csrf(sid)


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> ClassDirs:
    return make_class(tmp_path_factory.mktemp("class"), names=["김선생", "이민준", "Ada"])


def open_ui(data_dir: Path) -> Iterator[Ui]:
    store = Store.open(data_dir)
    me = load_membership(data_dir)
    access = Access.in_memory()
    ctx = WebContext(AsyncStore(store), me, access, me_name=store.names().get(me.peer_id, ""))
    try:
        with TestClient(build_app(ctx), base_url=BASE, backend="trio") as client:
            yield Ui(client, access, me, store, data_dir)
    finally:
        store.close()


@pytest.fixture
def teacher_ui(klass: ClassDirs) -> Iterator[Ui]:
    yield from open_ui(klass.instructor)


@pytest.fixture
def student_ui(klass: ClassDirs) -> Iterator[Ui]:
    yield from open_ui(klass.students[0])
