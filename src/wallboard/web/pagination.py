"""Lists: ``page``, a capped ``limit``, ``sorting`` by a named field, and the total count from a
window function in the same query."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Query
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.web.errors import FieldError
from wallboard.web.schemas import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, Pagination

R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class ListParams:
    page: int
    limit: int
    sorting: str


def list_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    sorting: Annotated[
        str,
        Query(
            max_length=40,
            pattern=r"^-?[a-zA-Z]+$",
            description="Field to sort by (name, uid, updatedAt); a leading - sorts descending.",
        ),
    ] = "name",
) -> ListParams:
    return ListParams(page=page, limit=limit, sorting=sorting)


def order_by(sorting: str, columns: Mapping[str, Any], tiebreak: Any) -> list[Any]:
    """ORDER BY clauses for ``sorting``; an unknown field is a 422 naming the allowed ones."""
    descending = sorting.startswith("-")
    name = sorting.removeprefix("-")
    column = columns.get(name)
    if column is None:
        raise FieldError(
            ("query", "sorting"), f"cannot sort by {name!r}; use one of {', '.join(columns)}"
        )
    return [column.desc() if descending else column.asc(), tiebreak]


async def fetch_page(
    session: AsyncSession, statement: sa.Select[Any], params: ListParams
) -> tuple[Sequence[Any], Pagination]:
    """The page's rows (first column of each) and the pagination, in one query (a second
    count only when the page is past the end)."""
    counted = statement.add_columns(sa.func.count().over().label("total_count"))
    offset = (params.page - 1) * params.limit
    rows = (await session.execute(counted.limit(params.limit).offset(offset))).all()
    if rows:
        total = int(rows[-1].total_count)
    else:
        total = int(
            await session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0
        )
    max_page = max(1, -(-total // params.limit))
    return [row[0] for row in rows], Pagination(total_count=total, max_page=max_page)
