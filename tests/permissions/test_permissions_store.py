"""The stored visible sets: round trip and versioning on memory, Redis and a Redis Cluster;
the follower recomputing from the configuration tables on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import CollectorRegistry

from permissions_helpers import access_group, add_tenant, delete_object, filed, folder, put_objects
from wallboard.core.errors import Unavailable
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.permissions.service import PermissionsFollower, permissions_in_process
from wallboard.permissions.store import MemoryPermissionsStore, PermissionsStore
from wallboard.permissions.visibility import StoredVisibility

ACME = TenantId("acme")


async def test_a_write_round_trips_and_replaces_the_whole_tenant(
    permissions_store: PermissionsStore,
) -> None:
    assert await permissions_store.read(ACME, "sup") is None
    assert await permissions_store.version(ACME) is None
    sets = {"sup": frozenset({("agent", "a:1"), ("queue", "sales")}), "admin": None}
    assert await permissions_store.write(ACME, 5, sets)
    assert await permissions_store.read(ACME, "sup") == (5, sets["sup"])
    assert await permissions_store.read(ACME, "admin") == (5, None)
    assert await permissions_store.read(ACME, "stranger") == (5, frozenset())
    assert await permissions_store.write(ACME, 6, {"admin": frozenset()})
    assert await permissions_store.read(ACME, "sup") == (6, frozenset())  # removed, not kept
    assert await permissions_store.read(ACME, "admin") == (6, frozenset())
    assert await permissions_store.version(ACME) == 6
    assert await permissions_store.read(TenantId("other"), "admin") is None


async def test_an_older_or_equal_version_never_overwrites(
    permissions_store: PermissionsStore,
) -> None:
    assert await permissions_store.write(ACME, 7, {"sup": frozenset({("agent", "a")})})
    assert not await permissions_store.write(ACME, 7, {"sup": None})
    assert not await permissions_store.write(ACME, 3, {"sup": None})
    assert await permissions_store.read(ACME, "sup") == (7, frozenset({("agent", "a")}))


async def test_the_visibility_reads_the_store_and_refuses_an_uncomputed_tenant(
    permissions_store: PermissionsStore,
) -> None:
    visibility = StoredVisibility(permissions_store)
    with pytest.raises(Unavailable, match="'acme' are not computed"):
        await visibility.visible_objects(ACME, "sup")
    assert await visibility.version(ACME) == 0
    await permissions_store.write(ACME, 2, {"sup": frozenset({("queue", "q")}), "admin": None})
    assert await visibility.visible_objects(ACME, "sup") == {("queue", "q")}
    assert await visibility.visible_objects(ACME, "admin") is None
    assert await visibility.visible_objects(ACME, "nobody") == frozenset()
    assert await visibility.version(ACME) == 2


async def test_the_follower_recomputes_only_what_changed(database: Database) -> None:
    await add_tenant(database, "acme")
    await add_tenant(database, "beta")
    store = MemoryPermissionsStore()
    follower = PermissionsFollower(database, store, registry=CollectorRegistry())
    await put_objects(
        database,
        "acme",
        folder("floor1"),
        folder("team-a", "floor1"),
        filed("agent", "alice", "team-a"),
        filed("agent", "bob", None),
        access_group("sups", ["sup"], folders=["floor1"]),
        access_group("all", ["admin"], all_objects=True),
    )
    assert sorted(await follower.poll()) == ["acme", "beta"]
    assert await store.read(ACME, "sup") == (
        1,
        frozenset({("agent", "alice"), ("folder", "team-a")}),
    )
    assert await store.read(ACME, "admin") == (1, None)
    assert await store.read(TenantId("beta"), "sup") == (0, frozenset())
    assert await follower.poll() == []  # nothing moved

    number = await put_objects(
        database, "acme", access_group("sups", ["sup"], objects=[("agent", "bob")])
    )
    assert await follower.poll() == ["acme"]
    assert await store.read(ACME, "sup") == (number, frozenset({("agent", "bob")}))

    number = await delete_object(database, "acme", "access_group", "all")
    assert await follower.poll() == ["acme"]
    assert await store.read(ACME, "admin") == (number, frozenset())


async def test_a_second_replica_skips_what_the_first_computed(database: Database) -> None:
    await add_tenant(database, "acme")
    await put_objects(database, "acme", access_group("g", ["u"], objects=[("queue", "q")]))
    store = MemoryPermissionsStore()
    first = PermissionsFollower(database, store, registry=CollectorRegistry())
    registry = CollectorRegistry()
    second = PermissionsFollower(database, store, registry=registry)
    assert await first.poll() == ["acme"]
    assert await second.poll() == []
    assert registry.get_sample_value("wallboard_permissions_skipped_total") == 1
    # A replica that computed an old state late cannot move the result backwards.
    await put_objects(database, "acme", access_group("g", ["u"], objects=[("queue", "r")]))
    assert await second.poll() == ["acme"]
    assert not await first.recompute(ACME)  # same number: refused by the store
    assert await store.read(ACME, "u") == (2, frozenset({("queue", "r")}))


async def test_in_process_the_permissions_are_computed_before_use_and_followed(
    database: Database,
) -> None:
    await add_tenant(database, "acme")
    await put_objects(database, "acme", access_group("g", ["u"], objects=[("queue", "q")]))
    async with permissions_in_process(database, registry=CollectorRegistry()) as permissions:
        visibility = permissions.visibility
        assert await visibility.visible_objects(ACME, "u") == {("queue", "q")}
        await put_objects(database, "acme", access_group("g", ["u"], all_objects=True))
        started = time.monotonic()
        while await visibility.visible_objects(ACME, "u") is not None:
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.01)
