"""YAML for untrusted files (criteria, mapping profiles, code lists) — ``yaml.safe_load`` with
limits, and where each key was written.

:func:`read_yaml` refuses, while composing and before any object is built, what could
exhaust the loader or silently change the data: deep nesting, many aliases ("billion
laughs"), explicit tags, long numbers and duplicate keys. It raises :class:`YAMLProblem`
whose message says what and where (line, column). Its limits are re-exported by
:mod:`preauth.criteria.library`. :func:`read_yaml_located` also returns the line of every
mapping key and list item, so a file's checks can name the line of a bad entry.
"""

from __future__ import annotations

from typing import Any, ClassVar

import yaml

__all__ = [
    "MAX_YAML_ALIASES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NUMBER_CHARS",
    "YAMLProblem",
    "one_line",
    "read_yaml",
    "read_yaml_located",
]

# A key path into the data: mapping keys and list indexes from the top, e.g. ("values", "sex").
Path = tuple[Any, ...]

# What the bundled files need is in brackets (see preauth.criteria.library's limits).
MAX_YAML_DEPTH = 32  # nesting of mappings / lists [6]
MAX_YAML_ALIASES = 50  # "*anchor" references ("billion laughs" needs many) [0]
MAX_YAML_NUMBER_CHARS = 100  # characters of a YAML number (int() / sexagesimal cost) [1]


class YAMLProblem(ValueError):
    """The text is not YAML such a file may hold; the message says what and where."""


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def read_yaml(text: str) -> Any:
    """The data of ``text`` (plain mappings, lists, text, numbers, booleans, null)."""
    return _read(text)[0]


def read_yaml_located(text: str) -> tuple[Any, dict[Path, int]]:
    """The data of ``text`` as :func:`read_yaml` gives it, and the 1-based line where each
    mapping key or list item was written, by its key path (``("values", "sex", "Male")``; the
    top level is ``()``). Same limits and :class:`YAMLProblem` as :func:`read_yaml`."""
    data, loader, node = _read(text)
    lines: dict[Path, int] = {}
    if node is not None:
        _record_lines(loader, node, (), lines)
    return data, lines


def _read(text: str) -> tuple[Any, yaml.SafeLoader, yaml.Node | None]:
    """(data, the loader, the document's node) - :class:`YAMLProblem` for what is not YAML
    such a file may hold."""
    try:
        loader = _GuardedLoader(text)
        try:
            node = loader.get_single_node()
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except RecursionError:
        raise YAMLProblem("not valid YAML: nested too deeply") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise YAMLProblem(f"not valid YAML{where}: {problem}") from None
    return data, loader, node


def _record_lines(loader: yaml.SafeLoader, node: yaml.Node, path: Path,
                  lines: dict[Path, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = loader.construct_object(key_node, deep=True)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(loader, value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(loader, item, (*path, index), lines)


class _Limit(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
# Explicit tags a file may use: "!" and !!str (text), !!seq and !!map (what the structure
# already says); anything else — !!int / !!float / !!bool on any text, !!timestamp, !!binary,
# !!set, !!python/..., local !tags — is refused by name.
_ALLOWED_TAGS = {"!", *(f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map"))}


class _GuardedLoader(yaml.SafeLoader):
    """``yaml.safe_load`` for untrusted text, checked while composing — before any object is
    built — so a hostile file fails fast with a clear message:

    * bounded nesting and number of aliases (no RecursionError, no "billion laughs");
    * no explicit tags but ``!!str``, and dates are not resolved: ``2021-02-30`` stays
      text and the models check it where a date is expected (PyYAML would raise a bare
      ValueError building it);
    * numbers of at most :data:`MAX_YAML_NUMBER_CHARS` characters (Python's int conversion
      limit, and quadratic sexagesimal ``1:2:3:…`` ints);
    * a key given twice in one mapping is refused (YAML would silently keep the last).
    """

    # A class attribute in PyYAML (add_implicit_resolver writes it on the class); the
    # types-PyYAML stubs declare it on BaseResolver as an instance attribute, hence the ignore.
    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {  # type: ignore[misc]
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _Limit(f"more than {MAX_YAML_ALIASES} aliases (*name)",
                                 self.peek_event().start_mark)
        else:
            event = self.peek_event()
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in _ALLOWED_TAGS:
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                raise _Limit(f"the tag {one_line(shown, 60)!r} is not allowed "
                                 f"(write plain values)", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Limit(f"nested deeper than {MAX_YAML_DEPTH} levels",
                                 self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _number(self, node: yaml.ScalarNode, build: Any) -> Any:
        if len(node.value) > MAX_YAML_NUMBER_CHARS:
            raise _Limit(f"a number with more than {MAX_YAML_NUMBER_CHARS} characters "
                             f"(quote it if it is text)", node.start_mark)
        try:
            return build(self, node)
        except ValueError:  # e.g. "0b_" and "0x_" match YAML's int pattern but are no number
            raise _Limit(f"{one_line(repr(node.value), 40)} is not a number (quote it "
                             f"if it is text)", node.start_mark) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        return self._number(node, yaml.SafeLoader.construct_yaml_int)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        return self._number(node, yaml.SafeLoader.construct_yaml_float)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _value in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    raise _Limit("a mapping key must be a plain value, not a list or "
                                     "mapping", key_node.start_mark) from None
                if first is not None:
                    raise _Limit(f"duplicate key {one_line(repr(key), 80)} (first given "
                                     f"at line {first.line + 1})", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_GuardedLoader.add_constructor("tag:yaml.org,2002:int", _GuardedLoader.construct_yaml_int)
_GuardedLoader.add_constructor("tag:yaml.org,2002:float", _GuardedLoader.construct_yaml_float)
