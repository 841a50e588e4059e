"""A small, safe expression language for formula statistics — never Python ``eval``.

Grammar (precedence climbing, lowest first)::

    expr    := compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STAT_ID | FUNC "(" expr ("," expr)* ")" | "(" expr ")"
    FUNC    := min | max | if

``STAT_ID`` is a dotted statistic id of the same object (``queue.answered``). Missing (None)
propagates through every operation; division by zero gives missing; comparisons give 1 or 0;
``if(c, a, b)`` is ``a`` when ``c`` is non-zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from wallboard.core.errors import InvalidInput

Number = float | None
Lookup = Callable[[str], Number]

MAX_FORMULA_LENGTH: Final = 2000
MAX_NESTING: Final = 40
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?|\.\d+)|(?P<name>[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)"
    r"|(?P<op><=|>=|==|!=|[-+*/(),<>]))"
)
_FUNCTIONS: Final = {"min", "max", "if"}
_COMPARISONS: Final = {"<", "<=", ">", ">=", "==", "!="}


class Expression:
    """A parsed node."""

    def evaluate(self, lookup: Lookup) -> Number:
        raise NotImplementedError

    def references(self) -> set[str]:
        return set()


class Constant(Expression):
    def __init__(self, value: float) -> None:
        self.value = value

    def evaluate(self, lookup: Lookup) -> Number:
        return self.value


class Reference(Expression):
    def __init__(self, stat_id: str) -> None:
        self.stat_id = stat_id

    def evaluate(self, lookup: Lookup) -> Number:
        return lookup(self.stat_id)

    def references(self) -> set[str]:
        return {self.stat_id}


class Negate(Expression):
    def __init__(self, operand: Expression) -> None:
        self.operand = operand

    def evaluate(self, lookup: Lookup) -> Number:
        value = self.operand.evaluate(lookup)
        return None if value is None else -value

    def references(self) -> set[str]:
        return self.operand.references()


class Binary(Expression):
    def __init__(self, op: str, left: Expression, right: Expression) -> None:
        self.op = op
        self.left = left
        self.right = right

    def evaluate(self, lookup: Lookup) -> Number:
        a = self.left.evaluate(lookup)
        b = self.right.evaluate(lookup)
        if a is None or b is None:
            return None
        op = self.op
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return None if b == 0 else a / b
        if op == "<":
            return float(a < b)
        if op == "<=":
            return float(a <= b)
        if op == ">":
            return float(a > b)
        if op == ">=":
            return float(a >= b)
        if op == "==":
            return float(a == b)
        return float(a != b)

    def references(self) -> set[str]:
        return self.left.references() | self.right.references()


class Call(Expression):
    def __init__(self, name: str, arguments: list[Expression]) -> None:
        self.name = name
        self.arguments = arguments

    def evaluate(self, lookup: Lookup) -> Number:
        if self.name == "if":
            condition = self.arguments[0].evaluate(lookup)
            if condition is None:
                return None
            chosen = self.arguments[1] if condition != 0 else self.arguments[2]
            return chosen.evaluate(lookup)
        values = [argument.evaluate(lookup) for argument in self.arguments]
        present = [v for v in values if v is not None]
        if len(present) != len(values):
            return None
        return min(present) if self.name == "min" else max(present)

    def references(self) -> set[str]:
        refs: set[str] = set()
        for argument in self.arguments:
            refs |= argument.references()
        return refs


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidInput(
                f"unexpected character {text[position:].lstrip()[:1]!r} at {position}",
                position=position,
            )
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    tokens.append(("end", ""))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.depth = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, value: str) -> None:
        _, text = self.take()
        if text != value:
            raise InvalidInput(f"expected {value!r}, got {text or 'the end'!r}")

    def expression(self) -> Expression:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise InvalidInput(f"formula nested deeper than {MAX_NESTING} levels")
        try:
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Expression:
        left = self.sum()
        kind, text = self.peek()
        if kind == "op" and text in _COMPARISONS:
            self.take()
            return Binary(text, left, self.sum())
        return left

    def sum(self) -> Expression:
        node = self.product()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            node = Binary(op, node, self.product())
        return node

    def product(self) -> Expression:
        node = self.unary()
        while self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            op = self.take()[1]
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Expression:
        negations = 0
        while self.peek() == ("op", "-"):
            self.take()
            negations += 1
        node = self.atom()
        return Negate(node) if negations % 2 else node

    def atom(self) -> Expression:
        kind, text = self.take()
        if kind == "number":
            return Constant(float(text))
        if kind == "name" and text in _FUNCTIONS:
            self.expect("(")
            arguments = [self.expression()]
            while self.peek() == ("op", ","):
                self.take()
                arguments.append(self.expression())
            self.expect(")")
            if text == "if" and len(arguments) != 3:
                raise InvalidInput("if takes three arguments: if(condition, then, else)")
            return Call(text, arguments)
        if kind == "name":
            if "." not in text:
                raise InvalidInput(f"unknown name {text!r}; statistic ids are dotted")
            return Reference(text)
        if text == "(":
            node = self.expression()
            self.expect(")")
            return node
        raise InvalidInput(f"unexpected {text or 'end of formula'!r}")


def parse_formula(text: str) -> Expression:
    """Parse ``text`` or raise :class:`InvalidInput` saying where it is wrong."""
    if len(text) > MAX_FORMULA_LENGTH:
        raise InvalidInput(f"formula longer than {MAX_FORMULA_LENGTH} characters")
    parser = _Parser(text)
    node = parser.expression()
    kind, rest = parser.peek()
    if kind != "end":
        raise InvalidInput(f"unexpected {rest!r} after a complete expression")
    return node
