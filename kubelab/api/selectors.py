"""Label and field selectors, parsed and matched as the API server does it.

Mirrors k8s.io/apimachinery/pkg/labels (the ``labelSelector`` grammar: ``a=b``, ``a==b``, ``a!=b``,
``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``, ``a>1``, ``a<1``; key/value syntax validation with the same
messages), metav1.LabelSelectorAsSelector / FormatLabelSelector (matchLabels + matchExpressions), and
k8s.io/apimachinery/pkg/fields (``fieldSelector``: ``a=b``, ``a==b``, ``a!=b``, comma-separated, ``\\``-escaped
``,`` ``=`` ``\\`` in values). The per-kind field label conversions (which field selectors a kind accepts, and the
error each kind gives for others) mirror pkg/apis/*/v1/conversion.go, the per-kind field values mirror the
``ToSelectableFields``/``GetAttrs`` functions of pkg/registry/*.

Simplified: the validation ``field.Path`` in messages is reproduced only for the cases reachable from the query
string and from metav1.LabelSelector; malformed input raises ``ApiError(400, "BadRequest", ...)`` directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceType

# ---------------------------------------------------------------------------------------------------------------
# validation (k8s.io/apimachinery/pkg/util/validation)

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile("^" + _QNAME_FMT + "$")
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character")
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_LABEL_VALUE_RE = re.compile("^" + _LABEL_VALUE_FMT + "$")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character")
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_RE = re.compile("^" + _DNS1123_SUBDOMAIN_FMT + "$")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                          "'.', and must start and end with an alphanumeric character")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    out = msg + " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            out += " or "
        out += f"'{ex}', "
    return out + f"regex used for validation is '{fmt}')"


def is_qualified_name(value: str) -> list[str]:
    """validation.IsQualifiedName: ``[prefix/]name`` as label keys and annotation keys use it."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME_RE.match(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_slice(vals: Iterable[str] | None) -> str:
    """fmt's %#v of a []string, as field.Invalid prints a bad slice value."""
    if vals is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(_go_quote(v) for v in vals) + "}"


def _invalid(path: str, shown_value: str, detail: str) -> str:
    return f"{path}: Invalid value: {shown_value}: {detail}"


def _aggregate(errs: list[str]) -> str:
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"


# ---------------------------------------------------------------------------------------------------------------
# label selectors (k8s.io/apimachinery/pkg/labels)

IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "in", "notin", "=", "==", "!="
EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN = "exists", "!", "gt", "lt"
_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN)


def _parse_int64(s: str) -> int | None:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return None
    v = int(s)
    return v if -(1 << 63) <= v < (1 << 63) else None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key <op> values`` term. Build with ``new_requirement`` to get upstream's validation."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            v = labels.get(self.key)
            return v is not None and v in self.values
        if op in (NOT_IN, NOT_EQUALS):
            v = labels.get(self.key)
            return v is None or v not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or len(self.values) != 1:
                return False
            have, want = _parse_int64(labels[self.key]), _parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        if op == EXISTS:
            return self.key
        sym = {EQUALS: "=", DOUBLE_EQUALS: "==", NOT_EQUALS: "!=", IN: " in ", NOT_IN: " notin ",
               GREATER_THAN: ">", LESS_THAN: "<"}[op]
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            return f"{self.key}{sym}({vals})"
        return f"{self.key}{sym}{vals}"


def _requirement_errors(key: str, op: str, vals: list[str] | None, path: str | None) -> list[str]:
    """labels.NewRequirement's checks; ``path`` None is upstream's nil field.Path ("key", "values" children)."""
    def child(name: str) -> str:
        return f"{path}.{name}" if path else name

    errs: list[str] = []
    for m in is_qualified_name(key):
        errs.append(_invalid(child("key"), _go_quote(key), m))
    n = len(vals or ())
    vpath = child("values")
    if op in (IN, NOT_IN):
        if n == 0:
            errs.append(_invalid(vpath, _go_slice(vals), "for 'in', 'notin' operators, values set can't be empty"))
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if n != 1:
            errs.append(_invalid(vpath, _go_slice(vals), "exact-match compatibility requires one single value"))
    elif op in (EXISTS, DOES_NOT_EXIST):
        if n != 0:
            errs.append(_invalid(vpath, _go_slice(vals), "values set must be empty for exists and does not exist"))
    elif op in (GREATER_THAN, LESS_THAN):
        if n != 1:
            errs.append(_invalid(vpath, _go_slice(vals), "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(vals or ()):
            if _parse_int64(v) is None:
                errs.append(_invalid(f"{vpath}[{i}]", _go_quote(v),
                                     "for 'Gt', 'Lt' operators, the value must be an integer"))
    else:
        supported = ", ".join(_go_quote(o) for o in _OPERATORS)
        errs.append(f"{child('operator')}: Unsupported value: {_go_quote(op)}: supported values: {supported}")
    for i, v in enumerate(vals or ()):
        msgs = is_valid_label_value(v)
        if msgs:
            errs.append(_invalid(f"{vpath}[{i}][{key}]", _go_quote(v), "; ".join(msgs)))
    return errs


def new_requirement(key: str, operator: str, values: Iterable[str] | None = ()) -> Requirement:
    """labels.NewRequirement: validate and build; ApiError(400) with upstream's aggregated message if invalid."""
    vals = None if values is None else list(values)
    errs = _requirement_errors(key, operator, vals, None)
    if errs:
        raise ApiError(400, "BadRequest", _aggregate(errs))
    return Requirement(key, operator, tuple(vals or ()))


class LabelSelector:
    """A parsed label selector: AND of requirements (sorted by key, as upstream keeps them).

    ``LabelSelector.nothing()`` matches no object (a nil metav1.LabelSelector); an empty selector matches all.
    """

    __slots__ = ("requirements", "_nothing")

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        self.requirements: tuple[Requirement, ...] = tuple(sorted(requirements, key=lambda r: r.key))
        self._nothing = nothing

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def nothing(cls) -> LabelSelector:
        return cls(nothing=True)

    @property
    def is_nothing(self) -> bool:
        return self._nothing

    def empty(self) -> bool:
        """True when the selector does not restrict anything (Everything)."""
        return not self._nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self._nothing:
            return False
        if not self.requirements:
            return True
        ls = labels or {}
        return all(r.matches(ls) for r in self.requirements)

    def requires_exact_match(self, key: str) -> str | None:
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "LabelSelector(nothing)" if self._nothing else f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LabelSelector) and self._nothing == other._nothing
                and self.requirements == other.requirements)

    def __hash__(self) -> int:
        return hash((self._nothing, self.requirements))


# lexer tokens
_ERR, _EOS, _CPAR, _COMMA, _NOT, _DEQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPAR = range(14)
_STRING2TOKEN = {")": _CPAR, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN, "<": _LT,
                 "!=": _NEQ, "notin": _NOTIN, "(": _OPAR}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")


def _lex(s: str) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    pos, n = 0, len(s)
    while True:
        while pos < n and s[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            items.append((_EOS, ""))
            return items
        ch = s[pos]
        if ch in _SPECIAL:
            buf = ""
            last: tuple[int, str] | None = None
            while pos < n and s[pos] in _SPECIAL:
                buf += s[pos]
                tok = _STRING2TOKEN.get(buf)
                if tok is not None:
                    last = (tok, buf)
                    pos += 1
                elif last is not None:
                    break
                else:
                    pos += 1
            if last is None:
                items.append((_ERR, f"error expected: keyword found '{buf}'"))
            else:
                items.append(last)
        else:
            start = pos
            while pos < n and s[pos] not in _SPECIAL and s[pos] not in _WHITESPACE:
                pos += 1
            word = s[start:pos]
            items.append((_STRING2TOKEN.get(word, _ID), word))


class _Parser:
    """Recursive-descent parser over the scanned tokens, with upstream's error messages."""

    def __init__(self, s: str) -> None:
        self.items = _lex(s)
        self.pos = 0

    def _tok(self, i: int, values: bool) -> tuple[int, str]:
        tok, lit = self.items[i]
        if values and tok in (_IN, _NOTIN):
            tok = _ID
        return tok, lit

    def lookahead(self, values: bool = True) -> tuple[int, str]:
        return self._tok(self.pos, values)

    def consume(self, values: bool = True) -> tuple[int, str]:
        self.pos += 1
        return self._tok(self.pos - 1, values)

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_ID, _NOT):
                try:
                    reqs.append(self.requirement())
                except _ParseError as e:
                    raise _ParseError(f"unable to parse requirement: {e}") from None
                t, lit2 = self.consume()
                if t == _EOS:
                    return reqs
                if t == _COMMA:
                    t2, l2 = self.lookahead()
                    if t2 not in (_ID, _NOT):
                        raise _ParseError(f"found '{l2}', expected: identifier after ','")
                else:
                    raise _ParseError(f"found '{lit2}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return reqs
            else:
                raise _ParseError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        key, op = self.key_and_operator()
        if op in (EXISTS, DOES_NOT_EXIST):
            return self.build(key, op, [])
        op = self.operator()
        vals = self.values() if op in (IN, NOT_IN) else self.exact_value()
        return self.build(key, op, sorted(vals))

    @staticmethod
    def build(key: str, op: str, vals: list[str]) -> Requirement:
        errs = _requirement_errors(key, op, vals, None)
        if errs:
            raise _ParseError(_aggregate(errs))
        return Requirement(key, op, tuple(vals))

    def key_and_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.consume()
        if tok == _NOT:
            op = DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok != _ID:
            raise _ParseError(f"found '{lit}', expected: identifier")
        msgs = is_qualified_name(lit)
        if msgs:
            raise _ParseError(_invalid("<nil>", _go_quote(lit), "; ".join(msgs)))
        t, _ = self.lookahead()
        if t in (_EOS, _COMMA) and op != DOES_NOT_EXIST:
            op = EXISTS
        return lit, op

    def operator(self) -> str:
        tok, lit = self.consume(values=False)
        ops = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN, _NOTIN: NOT_IN,
               _NEQ: NOT_EQUALS}
        if tok not in ops:
            raise _ParseError(f"found '{lit}', expected: '=', '!=', '==', 'in', notin'")
        return ops[tok]

    def values(self) -> set[str]:
        tok, lit = self.consume()
        if tok != _OPAR:
            raise _ParseError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_ID, _COMMA):
            s = self.identifiers()
            tok2, _ = self.consume()
            if tok2 != _CPAR:
                raise _ParseError(f"found '{lit}', expected: ')'")
            return s
        if tok == _CPAR:
            self.consume()
            return {""}
        raise _ParseError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        s: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == _ID:
                s.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CPAR:
                    return s
                raise _ParseError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not s:
                    s.add("")
                tok2, _ = self.lookahead()
                if tok2 == _CPAR:
                    s.add("")
                    return s
                if tok2 == _COMMA:
                    self.consume()
                    s.add("")
                continue
            raise _ParseError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok, _ = self.lookahead()
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self.consume()
        if tok == _ID:
            return {lit}
        raise _ParseError(f"found '{lit}', expected: identifier")


class _ParseError(Exception):
    pass


def parse_label_selector(s: str | None) -> LabelSelector:
    """labels.Parse: the ``labelSelector`` query parameter. ApiError(400, BadRequest) with upstream's message."""
    if not s:
        return LabelSelector()
    try:
        reqs = _Parser(s).parse()
    except _ParseError as e:
        raise ApiError(400, "BadRequest", str(e)) from None
    return LabelSelector(reqs)


_SELECTOR_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def label_selector_from_dict(sel: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector: None matches nothing, {} matches everything.

    Raises ApiError(400) for an unknown operator or invalid keys/values, with upstream's messages.
    """
    if sel is None:
        return LabelSelector.nothing()
    match_labels = sel.get("matchLabels") or {}
    exprs = sel.get("matchExpressions") or []
    if not match_labels and not exprs:
        return LabelSelector()
    reqs: list[Requirement] = []
    for k, v in match_labels.items():
        reqs.append(new_requirement(k, EQUALS, [v if v is not None else ""]))
    for e in exprs:
        op = _SELECTOR_OPS.get(e.get("operator", ""))
        if op is None:
            raise ApiError(400, "BadRequest", f"{_go_quote(str(e.get('operator', '')))} is not a valid label "
                                              "selector operator")
        vals = e.get("values")
        reqs.append(new_requirement(e.get("key", ""), op, list(vals) if vals else None))
    return LabelSelector(reqs)


def selector_to_string(sel: Mapping[str, Any] | None) -> str:
    """A metav1.LabelSelector in the label-selector syntax (kubectl's "app=web,tier in (a,b)"); "" if empty."""
    return str(label_selector_from_dict(sel))


def format_label_selector(sel: Mapping[str, Any] | None) -> str:
    """metav1.FormatLabelSelector, as printers show selectors: ``<none>`` when empty, ``<error>`` when invalid."""
    try:
        s = str(label_selector_from_dict(sel))
    except ApiError:
        return "<error>"
    return s or "<none>"


def format_labels(labels: Mapping[str, str] | None) -> str:
    """labels.FormatLabels: sorted ``k=v`` pairs joined by ",", ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_from_set(labels: Mapping[str, str] | None) -> LabelSelector:
    """labels.SelectorFromSet (unvalidated): equality on every pair; empty matches everything."""
    return LabelSelector(Requirement(k, EQUALS, (v,)) for k, v in (labels or {}).items())


# ---------------------------------------------------------------------------------------------------------------
# field selectors (k8s.io/apimachinery/pkg/fields)

@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    operator: str  # "=" (also for "==") or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return have == self.value if self.operator == EQUALS else have != self.value

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_field_value(self.value)}"


class FieldSelector:
    """AND of field requirements. ``.requirements`` lets the server check the field labels a kind supports."""

    __slots__ = ("requirements",)

    def __init__(self, requirements: Iterable[FieldRequirement] = ()) -> None:
        self.requirements: tuple[FieldRequirement, ...] = tuple(requirements)

    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)

    def requires_exact_match(self, field: str) -> str | None:
        for r in self.requirements:
            if r.field == field and r.operator == EQUALS:
                return r.value
        return None

    def transform(self, fn: Callable[[str, str], tuple[str, str]]) -> FieldSelector:
        out = []
        for r in self.requirements:
            f, v = fn(r.field, r.value)
            out.append(FieldRequirement(f, r.operator, v))
        return FieldSelector(out)

    def check_supported(self, rt: ResourceType, selectable_fields: Iterable[str] = ()) -> FieldSelector:
        """ApiError(400) if ``rt`` does not support a field label; converts labels in place, returns self.

        Conversion matters for ``spec.host`` (pods) and events.k8s.io labels (``regarding.name`` ...), which
        select the same ``field_set`` keys as their core spellings.
        """
        fields = tuple(selectable_fields)
        converted = []
        for r in self.requirements:
            f, v = convert_field_label(rt, r.field, r.value, fields)
            converted.append(FieldRequirement(f, r.operator, v))
        self.requirements = tuple(converted)
        return self

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSelector) and self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash(self.requirements)


def escape_field_value(s: str) -> str:
    """fields.EscapeValue: ``\\`` ``,`` ``=`` are backslash-escaped."""
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_field_value(s: str) -> str:
    """fields.UnescapeValue; ApiError(400) on an unknown escape or an unescaped ``,``/``=``."""
    if not any(c in s for c in "\\,="):
        return s
    out: list[str] = []
    in_slash = False
    for c in s:
        if in_slash:
            if c in "\\,=":
                out.append(c)
            else:
                raise ApiError(400, "BadRequest", f"invalid field selector: invalid escape sequence: \\{c}")
            in_slash = False
            continue
        if c == "\\":
            in_slash = True
        elif c in ",=":
            raise ApiError(400, "BadRequest", f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise ApiError(400, "BadRequest", "invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(s: str) -> list[str]:
    terms: list[str] = []
    start = 0
    in_slash = False
    for i, c in enumerate(s):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(s[start:i])
            start = i + 1
    terms.append(s[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def parse_field_selector(s: str | None) -> FieldSelector:
    """fields.ParseSelector: the ``fieldSelector`` query parameter (terms sorted, as upstream does)."""
    if not s:
        return FieldSelector()
    reqs: list[FieldRequirement] = []
    for part in sorted(_split_terms(s)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise ApiError(400, "BadRequest", f"invalid selector: '{s}'; can't understand '{part}'")
        lhs, op, rhs = split
        reqs.append(FieldRequirement(lhs, NOT_EQUALS if op == "!=" else EQUALS, unescape_field_value(rhs)))
    return FieldSelector(reqs)


# ---- which field labels each kind accepts (pkg/apis/*/v1/conversion.go) and their values (pkg/registry/*) ----

_POD_FIELDS = frozenset({
    "metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
    "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
    "status.nominatedNodeName",
})
_CORE_EVENT_FIELDS = frozenset({
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
    "reportingComponent", "source", "type", "metadata.namespace", "metadata.name",
})
_EVENTS_V1_FIELDS = {  # events.k8s.io/v1 label -> the core field set key it selects
    "reason": "reason", "regarding.kind": "involvedObject.kind", "regarding.namespace": "involvedObject.namespace",
    "regarding.name": "involvedObject.name", "regarding.uid": "involvedObject.uid",
    "regarding.apiVersion": "involvedObject.apiVersion",
    "regarding.resourceVersion": "involvedObject.resourceVersion",
    "regarding.fieldPath": "involvedObject.fieldPath", "reportingController": "reportingComponent",
    "type": "type", "metadata.namespace": "metadata.namespace", "metadata.name": "metadata.name",
}
_NOT_SUPPORTED = "field label not supported: {label}"
# (group, kind) -> (accepted labels, message format for others)
_FIELD_LABELS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("", "Pod"): (_POD_FIELDS, _NOT_SUPPORTED),
    ("", "Node"): (frozenset({"metadata.name", "spec.unschedulable"}), _NOT_SUPPORTED),
    ("", "Event"): (_CORE_EVENT_FIELDS, _NOT_SUPPORTED),
    ("", "Namespace"): (frozenset({"status.phase", "metadata.name"}), _NOT_SUPPORTED),
    ("", "Secret"): (frozenset({"type", "metadata.namespace", "metadata.name"}), _NOT_SUPPORTED),
    ("", "Service"): (frozenset({"metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"}),
                      _NOT_SUPPORTED),
    ("", "ReplicationController"): (frozenset({"metadata.name", "metadata.namespace", "status.replicas"}),
                                    _NOT_SUPPORTED),
    ("batch", "Job"): (frozenset({"metadata.name", "metadata.namespace", "status.successful"}),
                       'field label "{label}" not supported for batchv1.Job'),
    ("events.k8s.io", "Event"): (frozenset(_EVENTS_V1_FIELDS), _NOT_SUPPORTED),
}


def _default_conversion(label: str, value: str) -> tuple[str, str]:
    """runtime.DefaultMetaV1FieldSelectorConversion, for kinds without their own conversion."""
    if label in ("metadata.name", "metadata.namespace"):
        return label, value
    raise ApiError(400, "BadRequest",
                   f'"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"')


def convert_field_label(rt: ResourceType, label: str, value: str,
                        selectable_fields: Iterable[str] = ()) -> tuple[str, str]:
    """Scheme.ConvertFieldLabel: the (label, value) the kind's field set is keyed by, or ApiError(400).

    ``selectable_fields`` are a CRD version's ``selectableFields[].jsonPath`` (custom resources only).
    """
    if rt.custom:
        if label == "metadata.name" or (rt.namespaced and label == "metadata.namespace"):
            return label, value
        if label in {p.lstrip(".") for p in selectable_fields}:
            return label, value
        raise ApiError(400, "BadRequest", _NOT_SUPPORTED.format(label=label))
    if rt.group == "" and rt.kind == "Pod" and label == "spec.host":
        return "spec.nodeName", value
    spec = _FIELD_LABELS.get((rt.group, rt.kind))
    if spec is None:
        return _default_conversion(label, value)
    accepted, msg = spec
    if label not in accepted:
        raise ApiError(400, "BadRequest", msg.format(label=label))
    if rt.group == "events.k8s.io":
        return _EVENTS_V1_FIELDS[label], value
    return label, value


def validate_field_selector(rt: ResourceType, sel: FieldSelector | str | None,
                            selectable_fields: Iterable[str] = ()) -> FieldSelector:
    """Parse (if a string) and convert a field selector for ``rt``, as the list/watch handlers do before use."""
    fs = parse_field_selector(sel) if sel is None or isinstance(sel, str) else sel
    fields = tuple(selectable_fields)
    return fs.transform(lambda f, v: convert_field_label(rt, f, v, fields))


def _get(d: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = d
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _json_path_value(obj: Mapping[str, Any], path: str) -> str:
    v = _get(obj, *[p for p in path.lstrip(".").split(".") if p])
    return _s(v) if isinstance(v, str | bool | int | float) else ""


def field_set(rt: ResourceType, obj: Mapping[str, Any], selectable_fields: Iterable[str] = ()) -> dict[str, str]:
    """The fields.Set the real registry builds for ``obj`` (ToSelectableFields / GetAttrs), keyed by field label.

    Match a *converted* selector (``validate_field_selector``) against it: events.k8s.io labels map onto the
    core Event keys.
    """
    meta = obj.get("metadata") or {}
    out: dict[str, str] = {"metadata.name": meta.get("name") or ""}
    if rt.namespaced:
        out["metadata.namespace"] = meta.get("namespace") or ""
    if rt.custom:
        for p in selectable_fields:
            out[p.lstrip(".")] = _json_path_value(obj, p)
        return out
    kind, group = rt.kind, rt.group
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if group == "" and kind == "Pod":
        ips = status.get("podIPs") or []
        pod_ip = status.get("podIP") or (ips[0].get("ip", "") if ips else "")
        out.update({
            "spec.nodeName": spec.get("nodeName") or "",
            "spec.restartPolicy": spec.get("restartPolicy") or "",
            "spec.schedulerName": spec.get("schedulerName") or "",
            "spec.serviceAccountName": spec.get("serviceAccountName") or "",
            "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
            "status.phase": status.get("phase") or "",
            "status.podIP": pod_ip,
            "status.nominatedNodeName": status.get("nominatedNodeName") or "",
        })
    elif group == "" and kind == "Node":
        out["spec.unschedulable"] = "true" if spec.get("unschedulable") else "false"
    elif group == "" and kind == "Namespace":
        out["status.phase"] = status.get("phase") or ""
    elif group == "" and kind == "Secret":
        out["type"] = obj.get("type") or ""
    elif group == "" and kind == "Service":
        out["spec.clusterIP"] = spec.get("clusterIP") or ""
        out["spec.type"] = spec.get("type") or ""
    elif kind == "Event" and group in ("", "events.k8s.io"):
        ref = obj.get("involvedObject") if "involvedObject" in obj else obj.get("regarding")
        ref = ref or {}
        reporting = obj.get("reportingComponent") or obj.get("reportingController") or ""
        source = (obj.get("source") or obj.get("deprecatedSource") or {}).get("component") or reporting
        out.update({
            "involvedObject.kind": ref.get("kind") or "",
            "involvedObject.namespace": ref.get("namespace") or "",
            "involvedObject.name": ref.get("name") or "",
            "involvedObject.uid": ref.get("uid") or "",
            "involvedObject.apiVersion": ref.get("apiVersion") or "",
            "involvedObject.resourceVersion": ref.get("resourceVersion") or "",
            "involvedObject.fieldPath": ref.get("fieldPath") or "",
            "reason": obj.get("reason") or "",
            "reportingComponent": reporting,
            "source": source,
            "type": obj.get("type") or "",
        })
    elif group == "apps" and kind == "ReplicaSet":
        out["status.replicas"] = str(status.get("replicas") or 0)
    elif group == "batch" and kind == "Job":
        out["status.successful"] = str(status.get("succeeded") or 0)
    return out
