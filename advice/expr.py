"""A tiny, safe expression language for rule conditions and assumptions.

Rules are data files that a non-programmer can review, so their conditions are written as
short expressions over the seller's answers and the computed metrics::

    weekly_reach < benchmark_reach * 0.5 and 'acquaintances' in channels

The text is parsed with :mod:`ast` (never ``eval``), checked against a small whitelist of
syntax, and compiled once into nested closures, so evaluating a rule costs a few
function calls.

Unknown values. An unanswered optional question (the seller said "don't know", or was not
asked) is ``None``: *unknown*. Unknown propagates, as in SQL's three-valued logic:

- arithmetic with unknown is unknown, and so is a division by zero;
- a comparison (``< <= > >= == !=``, ``in``, ``not in``) with an unknown side is unknown,
  never true or false (``hours != 4`` is unknown too);
- ``not unknown`` is unknown, so ``not (response_hours > 4)`` does not hold for a seller
  who did not say how fast they reply;
- ``and`` / ``or`` follow Kleene's logic: false and unknown is false, true and unknown is
  unknown; true or unknown is true, false or unknown is unknown;
- the functions ``len``, ``min``, ``max``, ``abs``, ``only``, ``any_in``, ``count_in`` of
  an unknown value are unknown.

A condition *holds* only when it is true (:meth:`Expression.holds`): a rule whose condition
is unknown does not fire, and a question whose ``ask_if`` is unknown is not asked. To say
something about a "don't know" answer, ask about it directly (``'repeat_rate' in assumed``).

Supported: numbers, strings, ``True``/``False``/``None``, list literals, names, ``and``,
``or``, ``not``, ``+ - * /``, unary ``-``, comparisons (``< <= > >= == !=``, chained),
``in`` / ``not in``, and the functions in :data:`FUNCTIONS`.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Context = Mapping[str, Any]
Evaluator = Callable[[Context], Any]


class ExpressionError(ValueError):
    """An expression that is not valid in the rule language."""


def _only(values: Iterable[Any], allowed: Iterable[Any]) -> bool:
    """True when ``values`` is non-empty and every item is in ``allowed``."""
    if not values:
        return False
    allowed_set = set(allowed)
    return all(v in allowed_set for v in values)


def _any_in(values: Iterable[Any], candidates: Iterable[Any]) -> bool:
    candidate_set = set(candidates)
    return any(v in candidate_set for v in values)


def _count_in(values: Iterable[Any], candidates: Iterable[Any]) -> int:
    candidate_set = set(candidates)
    return sum(1 for v in values if v in candidate_set)


def _null_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` of anything unknown is unknown."""

    def call(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        return fn(*args)

    return call


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _null_safe(len),
    "min": _null_safe(min),
    "max": _null_safe(max),
    "abs": _null_safe(abs),
    "only": _null_safe(_only),
    "any_in": _null_safe(_any_in),
    "count_in": _null_safe(_count_in),
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}

_ORDER: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _divide(left: Any, right: Any) -> Any:
    if left is None or right is None or right == 0:
        return None
    return left / right


def _membership(item: Any, container: Any) -> bool | None:
    if item is None or container is None:
        return None
    return item in container


def _non_membership(item: Any, container: Any) -> bool | None:
    if item is None or container is None:
        return None
    return item not in container


def _truth(value: Any) -> bool | None:
    """A value as a truth value of the three-valued logic: None stays unknown."""
    return None if value is None else bool(value)


def _kleene(parts: list[Evaluator], ctx: Context, decisive: bool) -> bool | None:
    """Kleene ``and`` (decisive False) or ``or`` (decisive True): the decisive value if any
    part has it, else unknown if any part is unknown, else the other value."""
    result: bool | None = not decisive
    for part in parts:
        value = _truth(part(ctx))
        if value is decisive:
            return decisive
        if value is None:
            result = None
    return result


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: call it with a context mapping."""

    source: str
    names: tuple[str, ...]
    _evaluate: Evaluator

    def __call__(self, context: Context) -> Any:
        """The value: a number, a string, True/False, or None for unknown."""
        return self._evaluate(context)

    def holds(self, context: Context) -> bool:
        """True only when the condition is true: false and unknown do not hold."""
        value = self._evaluate(context)
        return value is not None and bool(value)


def compile_expression(source: str, known_names: Iterable[str]) -> Expression:
    """Parse and check ``source``; every name it uses must be in ``known_names``."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("an expression must be a non-empty string")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {source!r}: {exc.msg}") from None
    compiler = _Compiler(frozenset(known_names), source)
    evaluate = compiler.compile(tree.body)
    return Expression(source, tuple(dict.fromkeys(compiler.names_used)), evaluate)


class _Compiler:
    """Turns a whitelisted AST into closures."""

    def __init__(self, known: frozenset[str], source: str) -> None:
        self.known = known
        self.source = source
        self.names_used: list[str] = []

    def fail(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what} is not allowed in {self.source!r}")

    def compile(self, node: ast.expr) -> Evaluator:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(type(node).__name__)
        return method(node)

    def _Constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if not isinstance(value, int | float | str | bool | type(None)):
            raise self.fail(repr(value))
        return lambda ctx: value

    def _Name(self, node: ast.Name) -> Evaluator:
        name = node.id  # True, False and None are parsed as constants, never as names
        if name not in self.known:
            raise ExpressionError(f"unknown name {name!r} in {self.source!r}")
        self.names_used.append(name)
        return lambda ctx: ctx.get(name)

    def _List(self, node: ast.List | ast.Tuple) -> Evaluator:
        parts = [self.compile(e) for e in node.elts]
        if all(isinstance(e, ast.Constant) for e in node.elts):
            constant = tuple(p({}) for p in parts)  # pragma: no mutate (constants read no name)
            return lambda ctx: constant
        return lambda ctx: tuple(p(ctx) for p in parts)

    _Tuple = _List

    def _BoolOp(self, node: ast.BoolOp) -> Evaluator:
        parts = [self.compile(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda ctx: _kleene(parts, ctx, False)
        return lambda ctx: _kleene(parts, ctx, True)

    def _UnaryOp(self, node: ast.UnaryOp) -> Evaluator:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda ctx: None if (v := operand(ctx)) is None else not v
        if isinstance(node.op, ast.USub):
            return lambda ctx: None if (v := operand(ctx)) is None else -v
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.fail(type(node.op).__name__)

    def _BinOp(self, node: ast.BinOp) -> Evaluator:
        left, right = self.compile(node.left), self.compile(node.right)
        if isinstance(node.op, ast.Div):
            return lambda ctx: _divide(left(ctx), right(ctx))
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.fail(type(node.op).__name__)

        def binary(ctx: Context) -> Any:
            a, b = left(ctx), right(ctx)
            if a is None or b is None:
                return None
            return op(a, b)

        return binary

    def _Compare(self, node: ast.Compare) -> Evaluator:
        operands = [self.compile(node.left)] + [self.compile(c) for c in node.comparators]
        checks: list[Callable[[Any, Any], bool | None]] = []
        for op in node.ops:
            if isinstance(op, ast.In):
                checks.append(_membership)
            elif isinstance(op, ast.NotIn):
                checks.append(_non_membership)
            elif type(op) in _ORDER:
                checks.append(_null_unknown(_ORDER[type(op)]))
            else:
                raise self.fail(type(op).__name__)

        links = list(zip(checks, operands[1:], strict=True))  # pragma: no mutate (same lengths)

        def compare(ctx: Context) -> bool | None:
            # A chain ``a < b < c`` is ``a < b and b < c``, with Kleene's ``and``.
            result: bool | None = True
            left = operands[0](ctx)
            for check, operand in links:
                right = operand(ctx)
                link = check(left, right)
                if link is False:
                    return False
                if link is None:
                    result = None
                left = right
            return result

        return compare

    def _Call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise self.fail("this function call")
        if node.keywords:
            raise self.fail("keyword arguments")
        fn = FUNCTIONS[node.func.id]
        args = [self.compile(a) for a in node.args]
        return lambda ctx: fn(*(a(ctx) for a in args))


def _null_unknown(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool | None]:
    """``op`` over known values; unknown when either side is unknown. Values that cannot
    be ordered (a number against a text) compare false, as ``==`` would say."""

    def check(a: Any, b: Any) -> bool | None:
        if a is None or b is None:
            return None
        try:
            return bool(op(a, b))
        except TypeError:
            return False

    return check
