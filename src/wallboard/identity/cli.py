"""The ``wallboard user`` and ``wallboard keys`` commands: users, their passwords and API tokens,
and the rotation of the keys signing the tokens, straight on the metadata database.

Passwords are read from the terminal (or ``--password-stdin``; ``--generate`` makes and prints a
random one), never from the command line where ``ps`` would show them. Exit codes: 0 success,
2 the database, the settings or the arguments could not be used (the message says which).
"""

from __future__ import annotations

import sys
from typing import Annotated

import sqlalchemy as sa
import typer

from wallboard.core.errors import InvalidInput
from wallboard.core.ids import TenantId
from wallboard.db.cli import UrlOption, _run, _url_or_exit
from wallboard.db.database import open_database
from wallboard.db.models import SigningKey, User
from wallboard.identity.audit import record_audit
from wallboard.identity.roles import Role, privileges_of
from wallboard.identity.service import Identity
from wallboard.identity.users import add_user, delete_user, find_user, new_password, set_password
from wallboard.settings import Settings

user_app = typer.Typer(
    name="user",
    help="Add, list and remove users; set passwords; issue API tokens.",
    no_args_is_help=True,
)
keys_app = typer.Typer(
    name="keys", help="Rotate and retire the keys signing API tokens.", no_args_is_help=True
)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
Generate = Annotated[bool, typer.Option("--generate", help="Make a random password and print it.")]


def _password(stdin: bool, generate: bool) -> str:
    if generate:
        password = new_password()
        typer.echo(f"password: {password}")
        return password
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    prompted: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return prompted


@user_app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="Unique in the installation.")],
    tenant: Annotated[str, typer.Option("--tenant", help="The user's tenant.")],
    role: Annotated[list[Role], typer.Option("--role", help="A role (repeat for several).")],
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    password_stdin: PasswordStdin = False,
    generate: Generate = False,
    url: UrlOption = None,
) -> None:
    """Add a user with a password (prompted, from stdin, or generated)."""
    database_url = _url_or_exit(url)
    password = _password(password_stdin, generate)

    async def run() -> None:
        async with open_database(database_url) as database, database.sessions() as session:
            await add_user(
                session,
                TenantId(tenant),
                username,
                password=password,
                roles=[r.value for r in role],
                display_name=display_name,
            )
            await session.commit()

    _run(run())
    typer.echo(f"user {username} added to tenant {tenant} ({', '.join(r.value for r in role)})")


@user_app.command("passwd")
def passwd_command(
    username: str,
    password_stdin: PasswordStdin = False,
    generate: Generate = False,
    url: UrlOption = None,
) -> None:
    """Set a user's password; their open sessions end."""
    database_url = _url_or_exit(url)
    password = _password(password_stdin, generate)

    async def run() -> None:
        async with open_database(database_url) as database, database.sessions() as session:
            await set_password(session, username, password)
            await session.commit()

    _run(run())
    typer.echo(f"password of {username} changed")


@user_app.command("list")
def list_command(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's.")] = None,
    url: UrlOption = None,
) -> None:
    """List the users: tenant, username, roles, and whether disabled."""
    database_url = _url_or_exit(url)

    async def run() -> list[User]:
        async with open_database(database_url) as database, database.sessions() as session:
            statement = sa.select(User).order_by(User.tenant_id, User.username)
            if tenant is not None:
                statement = statement.where(User.tenant_id == tenant)
            return list((await session.scalars(statement)).all())

    for user in _run(run()):
        state = " (disabled)" if user.disabled else ""
        typer.echo(f"{user.tenant_id}\t{user.username}\t{','.join(user.roles)}{state}")


@user_app.command("delete")
def delete_command(username: str, url: UrlOption = None) -> None:
    """Delete a user (with their sessions and API tokens)."""
    database_url = _url_or_exit(url)

    async def run() -> None:
        async with open_database(database_url) as database, database.sessions() as session:
            await delete_user(session, username)
            await session.commit()

    _run(run())
    typer.echo(f"user {username} deleted")


@user_app.command("token")
def token_command(
    username: str,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
    days: Annotated[
        int | None,
        typer.Option("--days", help="Its life (default and most: WALLBOARD_AUTH_TOKEN_DAYS)."),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Issue an API token to a user and print it (the only time it is shown)."""
    database_url = _url_or_exit(url)
    settings = Settings.from_env()

    async def run() -> str:
        async with open_database(database_url) as database:
            identity = Identity(database, settings)
            async with database.sessions() as session:
                user = await find_user(session, username)
                if not privileges_of(user.roles):
                    raise InvalidInput(f"{username} has no role: a token of theirs opens nothing")
                issued = await identity.issue_token(session, user, name, days=days, client="cli")
                await session.commit()
                return issued.token

    typer.echo(_run(run()))


@keys_app.command("rotate")
def rotate_command(
    retire_old: Annotated[
        bool,
        typer.Option(
            "--retire-old",
            help="Also retire every older key: the tokens they signed stop working at once.",
        ),
    ] = False,
    url: UrlOption = None,
) -> None:
    """Make a new signing key; older keys still verify their tokens until retired."""
    database_url = _url_or_exit(url)
    settings = Settings.from_env()

    async def run() -> tuple[str, list[str]]:
        async with open_database(database_url) as database:
            identity = Identity(database, settings)
            async with database.sessions() as session:
                key = await identity.rotate_key(session, actor="cli", client="cli")
                retired: list[str] = []
                if retire_old:
                    for old in await session.scalars(
                        sa.select(SigningKey).where(
                            SigningKey.retired_at.is_(None), SigningKey.kid != key.kid
                        )
                    ):
                        old.retired_at = identity.now()
                        record_audit(
                            session, tenant=None, actor="cli", action="key.retire", target=old.kid
                        )
                        retired.append(old.kid)
                await session.commit()
                return key.kid, retired

    kid, retired = _run(run())
    typer.echo(f"new signing key {kid}")
    for old in retired:
        typer.echo(f"retired {old}")
