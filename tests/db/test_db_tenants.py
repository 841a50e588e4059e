"""TenantRepository on both backends, and the validation of tenant fields."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallboard.core.errors import InvalidInput
from wallboard.db.database import open_database
from wallboard.db.tenants import (
    TENANT_ID_PATTERN,
    TenantRepository,
    check_display_name,
    check_tenant_id,
    check_time_zone,
)


async def test_tenant_round_trip(migrated_url: str) -> None:
    async with open_database(migrated_url) as db:
        async with db.sessions() as session, session.begin():
            repository = TenantRepository(session)
            first = await repository.create_if_missing(
                "acme", display_name="  Acme Corp ", time_zone="Europe/Paris"
            )
            await repository.create_if_missing(
                "beta-2", display_name="Beta", time_zone="America/New_York"
            )
        assert first.created
        async with db.sessions() as session:
            repository = TenantRepository(session)
            acme = await repository.get("acme")
            assert acme is not None
            assert (acme.id, acme.display_name, acme.time_zone) == (
                "acme",
                "Acme Corp",
                "Europe/Paris",
            )
            assert acme.created_at.tzinfo is dt.UTC
            assert abs(dt.datetime.now(dt.UTC) - acme.created_at) < dt.timedelta(minutes=1)
            assert [tenant.id for tenant in await repository.list()] == ["acme", "beta-2"]
            assert await repository.get("nobody") is None


async def test_create_if_missing_is_idempotent_and_keeps_the_first(migrated_url: str) -> None:
    async with open_database(migrated_url) as db:
        for display_name, time_zone in [("Acme", "UTC"), ("Acme renamed", "Europe/Berlin")]:
            async with db.sessions() as session, session.begin():
                result = await TenantRepository(session).create_if_missing(
                    "acme", display_name=display_name, time_zone=time_zone
                )
        assert not result.created
        assert (result.tenant.display_name, result.tenant.time_zone) == ("Acme", "UTC")
        async with db.sessions() as session:
            assert len(await TenantRepository(session).list()) == 1


async def test_concurrent_creators_make_one_tenant(migrated_url: str) -> None:
    async with open_database(migrated_url) as db:

        async def create() -> bool:
            async with db.sessions() as session, session.begin():
                result = await TenantRepository(session).create_if_missing(
                    "acme", display_name="Acme", time_zone="UTC"
                )
                return result.created

        created = await asyncio.gather(*(create() for _ in range(5)))
        assert sorted(created) == [False] * 4 + [True]
        async with db.sessions() as session:
            assert [t.id for t in await TenantRepository(session).list()] == ["acme"]


@pytest.mark.parametrize(
    ("tenant_id", "display_name", "time_zone", "field"),
    [
        ("Acme", "Acme", "UTC", "tenant_id"),
        ("acme_corp", "Acme", "UTC", "tenant_id"),
        ("-acme", "Acme", "UTC", "tenant_id"),
        ("", "Acme", "UTC", "tenant_id"),
        ("a" * 64, "Acme", "UTC", "tenant_id"),
        ("acme", "   ", "UTC", "display_name"),
        ("acme", "x" * 201, "UTC", "display_name"),
        ("acme", "nul\x00byte", "UTC", "display_name"),
        ("acme", "Acme", "Mars/Olympus", "time_zone"),
        ("acme", "Acme", "Europe", "time_zone"),
        ("acme", "Acme", "../../etc/passwd", "time_zone"),
    ],
)
async def test_bad_tenant_fields_are_refused_by_name(
    migrated_sqlite_url: str, tenant_id: str, display_name: str, time_zone: str, field: str
) -> None:
    async with open_database(migrated_sqlite_url) as db, db.sessions() as session:
        repository = TenantRepository(session)
        with pytest.raises(InvalidInput) as caught:
            await repository.create_if_missing(
                tenant_id, display_name=display_name, time_zone=time_zone
            )
        assert caught.value.detail["field"] == field
        assert await repository.list() == []


@given(st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True))
def test_every_slug_is_a_tenant_id(slug: str) -> None:
    assert check_tenant_id(slug) == slug


@given(st.text(max_size=70))
def test_tenant_id_check_accepts_exactly_the_slugs(text: str) -> None:
    is_slug = TENANT_ID_PATTERN.fullmatch(text) is not None and len(text) <= 63
    try:
        check_tenant_id(text)
    except InvalidInput:
        assert not is_slug
    else:
        assert is_slug


IANA_ZONES = sorted(zoneinfo.available_timezones())


@given(st.one_of(st.text(max_size=40), st.sampled_from(IANA_ZONES)))
def test_time_zone_check_accepts_exactly_the_iana_names(text: str) -> None:
    if text in IANA_ZONES:
        assert check_time_zone(text) == text
    else:
        with pytest.raises(InvalidInput, match="is not an IANA time zone name"):
            check_time_zone(text)


_tenant_numbers = itertools.count()


@settings(
    max_examples=40,
    deadline=None,
    # One migrated database serves every example: each example uses a tenant id of its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    display_name=st.text(
        # Any character, with the ones databases and screens trip on drawn more often.
        st.one_of(st.characters(), st.sampled_from("\x00\x1b\t\n é☎😀")),
        max_size=210,
    )
)
async def test_any_accepted_display_name_round_trips(
    migrated_postgres_url: str, display_name: str
) -> None:
    tenant_id = f"t{next(_tenant_numbers)}"
    async with open_database(migrated_postgres_url) as db:
        try:
            expected = check_display_name(display_name)
        except InvalidInput:
            return
        async with db.sessions() as session, session.begin():
            await TenantRepository(session).create_if_missing(
                tenant_id, display_name=display_name, time_zone="UTC"
            )
        async with db.sessions() as session:
            stored = await TenantRepository(session).get(tenant_id)
        assert stored is not None
        assert stored.display_name == expected
