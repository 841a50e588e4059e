"""The ``wallboard db`` commands: upgrade the metadata schema, show its revision, check it.

The database is ``WALLBOARD_DATABASE_URL`` unless ``--url`` is given. Exit codes: 0 success,
1 ``check`` found the schema behind (or ahead of) this code, 2 the database or the settings
could not be used (the message says which).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError

from wallboard.core.errors import WallboardError
from wallboard.db.database import normalize_database_url
from wallboard.db.migrate import check_database, current_revision, upgrade_database
from wallboard.settings import Settings

app = typer.Typer(
    name="db",
    help="Create, migrate and check the metadata database (dashboards, widgets, templates, tenants).",
    no_args_is_help=True,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database URL (sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db); "
        "default: WALLBOARD_DATABASE_URL.",
        show_default=False,
    ),
]

T = TypeVar("T")

EXIT_NOT_AT_HEAD = 1
EXIT_UNUSABLE = 2


def _shown(url: str) -> str:
    return normalize_database_url(url).render_as_string(hide_password=True)


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    except (SQLAlchemyError, OSError) as exc:
        typer.echo(f"error: the database cannot be used: {exc}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None


def _revision(revision: str | None) -> str:
    return revision if revision is not None else "none (empty database)"


def _url_or_exit(url: str | None) -> str:
    try:
        chosen = url if url is not None else Settings.from_env().database_url
        normalize_database_url(chosen)  # fail here, naming the URL, rather than deep in a driver
        return chosen
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None


@app.command()
def upgrade(url: UrlOption = None) -> None:
    """Migrate the schema to the newest revision; safe to run twice or from several jobs at once."""
    database_url = _url_or_exit(url)
    change = _run(upgrade_database(database_url))
    if change.changed:
        typer.echo(
            f"upgraded {_shown(database_url)} from {_revision(change.before)} to {change.after}"
        )
    else:
        typer.echo(f"{_shown(database_url)} is already at {_revision(change.after)}")


@app.command()
def current(url: UrlOption = None) -> None:
    """Print the revision the database's schema is at."""
    database_url = _url_or_exit(url)
    typer.echo(_revision(_run(current_revision(database_url))))


@app.command()
def check(url: UrlOption = None) -> None:
    """Exit 0 if the schema is at the newest revision this code knows, 1 if it is not."""
    database_url = _url_or_exit(url)
    status = _run(check_database(database_url))
    if status.at_head:
        typer.echo(f"ok: {_shown(database_url)} is at {status.head}")
        return
    typer.echo(
        f"not at head: {_shown(database_url)} is at {_revision(status.current)}, "
        f"this code expects {status.head}; run `wallboard db upgrade`"
    )
    raise typer.Exit(EXIT_NOT_AT_HEAD)


if __name__ == "__main__":
    app()
