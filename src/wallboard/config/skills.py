"""Skill expressions of agent groups: ``sales >= 5 & english`` selects the agents whose skills
match.

Grammar (``!`` binds tighter than ``&``, which binds tighter than ``|``)::

    expression := term ("|" term)*
    term       := factor ("&" factor)*
    factor     := "!" factor | "(" expression ")" | skill [operator level]
    operator   := ">=" | ">" | "<=" | "<" | "=" | "==" | "!="

A bare ``skill`` means the agent has it at any level; an agent without a skill fails every
comparison on it (``!sales`` selects them).
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Mapping

from wallboard.core.errors import InvalidInput

MAX_EXPRESSION = 1000
_TOKEN = re.compile(r"\s*(?:(>=|<=|==|!=|[<>=!&|()])|([A-Za-z_][A-Za-z0-9_.-]*)|(\d+))")
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}

Skills = Mapping[str, int]
Matcher = Callable[[Skills], bool]


@dataclasses.dataclass(frozen=True)
class SkillExpression:
    """A parsed expression: ``matches(skills)`` and the skills it names."""

    text: str
    matches: Matcher
    skills: frozenset[str]


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise InvalidInput(f"unexpected {text[position:].strip()[:20]!r} at {position + 1}")
        tokens.append(next(group for group in found.groups() if group is not None))
        position = found.end()
    return tokens


def parse_skill_expression(text: str) -> SkillExpression:
    """Parse ``text``; InvalidInput says where it is wrong."""
    if len(text) > MAX_EXPRESSION:
        raise InvalidInput(f"longer than {MAX_EXPRESSION} characters")
    tokens = _tokens(text)
    named: set[str] = set()
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise InvalidInput("ends too early")
        position += 1
        return token

    def expression(depth: int) -> Matcher:
        if depth > 50:
            raise InvalidInput("nested too deeply")
        alternatives = [term(depth)]
        while peek() == "|":
            take()
            alternatives.append(term(depth))
        if len(alternatives) == 1:
            return alternatives[0]
        return lambda skills: any(match(skills) for match in alternatives)

    def term(depth: int) -> Matcher:
        factors = [factor(depth)]
        while peek() == "&":
            take()
            factors.append(factor(depth))
        if len(factors) == 1:
            return factors[0]
        return lambda skills: all(match(skills) for match in factors)

    def factor(depth: int) -> Matcher:
        token = take()
        if token == "!":
            inner = factor(depth + 1)
            return lambda skills: not inner(skills)
        if token == "(":
            inner = expression(depth + 1)
            if peek() != ")":
                raise InvalidInput("a '(' is not closed")
            take()
            return inner
        if not (token[0].isalpha() or token[0] == "_"):
            raise InvalidInput(f"expected a skill name, found {token!r}")
        skill = token
        named.add(skill)
        if peek() in _OPERATORS:
            compare = _OPERATORS[take()]
            level_token = take()
            if not level_token.isdigit():
                raise InvalidInput(f"expected a level after {skill}, found {level_token!r}")
            level = int(level_token)
            return lambda skills: skill in skills and compare(skills[skill], level)
        return lambda skills: skill in skills

    if not tokens:
        raise InvalidInput("is empty")
    matches = expression(0)
    if position != len(tokens):
        raise InvalidInput(f"unexpected {tokens[position]!r}")
    return SkillExpression(text=text, matches=matches, skills=frozenset(named))
