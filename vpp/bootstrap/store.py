"""Store: create and migrate read-model databases."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from vpp.adapters.store import migrate
from vpp.adapters.store.engine import default_url, make_engine


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def upgrade_store(url: str | None, revision: str = "head") -> tuple[str, str]:
    """Migrate the store at ``url`` (default SQLite file); return (revision, shown URL)."""
    url = url or default_url()
    return migrate.upgrade(url, revision), _shown(url)


def store_revision(url: str | None) -> str | None:
    engine = make_engine(url or default_url())
    try:
        return migrate.current_revision(engine)
    finally:
        engine.dispose()
