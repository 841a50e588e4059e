"""The visible-set computation: examples of each grant, and a property test on random folder
trees against a brute-force reading of the model (walk up from each object)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wallboard.permissions.grants import ConfigRow, ObjectKey, compute_grants


def group(
    name: str,
    members: list[str],
    *,
    folders: list[str] | None = None,
    objects: list[ObjectKey] | None = None,
    all_objects: bool = False,
) -> ConfigRow:
    return ConfigRow(
        "access_group",
        name,
        None,
        {
            "members": members,
            "folders": folders or [],
            "objects": [{"type": t, "name": n} for t, n in objects or []],
            "all_objects": all_objects,
        },
    )


def folder(name: str, parent: str | None = None) -> ConfigRow:
    return ConfigRow("folder", name, parent, {"parent": parent})


TREE = [
    folder("floors"),
    folder("floor1", "floors"),
    folder("team-a", "floor1"),
    folder("floor2", "floors"),
    ConfigRow("agent", "alice", "team-a"),
    ConfigRow("agent", "bob", "floor1"),
    ConfigRow("agent", "carol", "floor2"),
    ConfigRow("agent", "dave", None),
    ConfigRow("queue", "sales", "floor1"),
    ConfigRow("agent_group", "team-a", "team-a"),
]


def test_a_folder_grants_what_is_filed_in_it_and_below() -> None:
    grants = compute_grants([*TREE, group("floor1-sup", ["sup"], folders=["floor1"])])
    assert grants.users == {
        "sup": frozenset(
            {
                ("agent", "alice"),
                ("agent", "bob"),
                ("queue", "sales"),
                ("agent_group", "team-a"),
                ("folder", "team-a"),
            }
        )
    }
    assert grants.problems == ()


def test_grants_add_up_over_groups_and_single_objects() -> None:
    grants = compute_grants(
        [
            *TREE,
            group("a", ["sup", "lead"], folders=["team-a"]),
            group("b", ["sup"], objects=[("agent", "carol"), ("queue", "not-configured")]),
        ]
    )
    assert grants.users["lead"] == {("agent", "alice"), ("agent_group", "team-a")}
    assert grants.users["sup"] == {
        ("agent", "alice"),
        ("agent_group", "team-a"),
        ("agent", "carol"),
        ("queue", "not-configured"),
    }


def test_all_objects_is_none_and_wins_over_narrower_grants() -> None:
    grants = compute_grants(
        [
            *TREE,
            group("everything", ["admin"], all_objects=True),
            group("narrow", ["admin", "sup"], objects=[("agent", "bob")]),
        ]
    )
    assert grants.users["admin"] is None
    assert grants.users["sup"] == {("agent", "bob")}


def test_a_user_no_group_lists_is_absent_and_the_root_is_not_granted_by_folders() -> None:
    grants = compute_grants([*TREE, group("all-floors", ["sup"], folders=["floors"])])
    assert "nobody" not in grants.users
    assert ("agent", "dave") not in (grants.users["sup"] or ())  # filed at the root


def test_seeing_a_group_does_not_show_its_members() -> None:
    rows = [
        ConfigRow("agent_group", "team", None, {"agents": ["alice", "bob"]}),
        group("g", ["sup"], objects=[("agent_group", "team")]),
    ]
    assert compute_grants(rows).users["sup"] == {("agent_group", "team")}


def test_malformed_grants_grant_nothing_and_are_named() -> None:
    rows = [
        *TREE,
        ConfigRow("access_group", "bad", None, {"members": ["x"], "folders": "floor1"}),
        ConfigRow("access_group", "worse", None, {"members": ["y"], "all_objects": "yes"}),
        ConfigRow("access_group", "mixed", None, {"members": ["z"], "objects": [{"t": 1}]}),
    ]
    grants = compute_grants(rows)
    assert grants.users == {"x": frozenset(), "y": frozenset(), "z": frozenset()}
    assert len(grants.problems) == 3
    assert any("'bad': folders" in problem for problem in grants.problems)
    assert any("'worse': all_objects" in problem for problem in grants.problems)


def test_a_folder_cycle_ends() -> None:
    rows = [folder("a", "b"), folder("b", "a"), ConfigRow("queue", "q", "b")]
    assert compute_grants([*rows, group("g", ["u"], folders=["a"])]).users["u"] == {
        ("queue", "q"),
        ("folder", "a"),
        ("folder", "b"),
    }


# --- property: random trees against a brute-force walk up ----------------------------------


@st.composite
def configurations(draw: st.DrawFn) -> tuple[list[ConfigRow], dict[str, str | None]]:
    """A random folder forest, objects filed in it, and access groups with folder and object
    grants; also each group's grants to check against."""
    count = draw(st.integers(0, 12))
    folders = [f"f{i}" for i in range(count)]
    rows = []
    for index, name in enumerate(folders):
        # A parent earlier in the list: a forest, no cycles.
        parent = draw(st.none() | st.sampled_from(folders[:index])) if index else None
        rows.append(folder(name, parent))
    places = st.none() | st.sampled_from(folders) if folders else st.none()
    objects = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["agent", "queue", "agent_group"]), st.text("abc", max_size=3)
            ),
            max_size=25,
            unique=True,
        )
    )
    for kind, name in objects:
        rows.append(ConfigRow(kind, name, draw(places)))
    users = ["u1", "u2", "u3", "u4"]
    groups = draw(st.integers(0, 4))
    rows.extend(
        group(
            f"g{index}",
            draw(st.lists(st.sampled_from(users), unique=True)),
            folders=draw(st.lists(st.sampled_from(folders), unique=True)) if folders else [],
            objects=draw(st.lists(st.sampled_from(objects), unique=True)) if objects else [],
            all_objects=draw(st.integers(0, 5)) == 0,
        )
        for index in range(groups)
    )
    parents = {row.name: row.attributes["parent"] for row in rows if row.type == "folder"}
    return rows, parents


def brute_force(
    rows: list[ConfigRow], parents: dict[str, str | None]
) -> dict[str, set[ObjectKey] | None]:
    """The model read literally: an object is visible to a member of a group when the group
    names it, or one of the folders on its path up to the root is granted."""
    out: dict[str, set[ObjectKey] | None] = {}
    for row in rows:
        if row.type != "access_group":
            continue
        a = row.attributes
        for member in a["members"]:
            if a["all_objects"]:
                out[member] = None
                continue
            mine = out.setdefault(member, set())
            if mine is None:
                continue
            mine.update((o["type"], o["name"]) for o in a["objects"])
            for other in rows:
                place = other.folder
                while place is not None:
                    if place in a["folders"]:
                        mine.add((other.type, other.name))
                        break
                    place = parents.get(place)
    return out


@given(configurations())
def test_the_computation_equals_the_model_read_literally(
    case: tuple[list[ConfigRow], dict[str, str | None]],
) -> None:
    rows, parents = case
    expected = brute_force(rows, parents)
    assert compute_grants(rows).users == {
        user: None if objects is None else frozenset(objects) for user, objects in expected.items()
    }
