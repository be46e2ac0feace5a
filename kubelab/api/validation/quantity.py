"""Resource quantities ("500m", "1Gi", "1e3"): parsing, comparison, the canonical string the server returns.

Mirrors k8s.io/apimachinery/pkg/api/resource (ParseQuantity, Quantity.String/CanonicalizeBytes, RoundUp) and
the core/v1 SetDefaults_ResourceList rounding of every resource list to milli precision.

Simplified: values are exact Fractions instead of int64Amount/inf.Dec; the canonical form is computed from the
exact value, which gives the same text as upstream for every value that fits the Go representation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

_QTY_RE = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    format: str

    def __str__(self) -> str:
        return canonical(self)

    def round_up_milli(self) -> Quantity:
        """Quantity.RoundUp(-3): away from zero, to a multiple of 1/1000."""
        scaled = self.value * 1000
        r = math.ceil(scaled) if scaled >= 0 else math.floor(scaled)
        return Quantity(Fraction(r, 1000), self.format)


def parse_quantity(text: object) -> Quantity | None:
    """ParseQuantity; None when the text is not a quantity (the decoder would have rejected it)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return Quantity(Fraction(text), DECIMAL_SI)
    if isinstance(text, float):
        return Quantity(Fraction(str(text)), DECIMAL_SI)
    if not isinstance(text, str):
        return None
    m = _QTY_RE.match(text.strip())
    if not m:
        return None
    num = Fraction(m.group(1))
    suffix = m.group(2) or ""
    if suffix in _BINARY:
        return Quantity(num * (1024 ** _BINARY[suffix]), BINARY_SI)
    if suffix in _DECIMAL:
        return Quantity(num * Fraction(10) ** _DECIMAL[suffix], DECIMAL_SI)
    exp = int(suffix[1:])
    return Quantity(num * Fraction(10) ** exp, DECIMAL_EXPONENT)


def _mantissa_exponent(value: Fraction) -> tuple[int, int]:
    """value == m * 10**e, m an integer and e a multiple of 3, as int64Amount.AsCanonicalBytes computes it."""
    if value == 0:
        return 0, 0
    e = 0
    v = value
    while v.denominator != 1:
        v *= 10
        e -= 1
        if e < -30:  # not representable exactly; Go would round, we stop at nano scale
            v = Fraction(math.ceil(v))
            break
    m = int(v)
    while m % 10 == 0:
        m //= 10
        e += 1
    r = e % 3
    if r == 1:
        m *= 10
        e -= 1
    elif r == 2:
        m *= 100
        e -= 2
    return m, e


def canonical(q: Quantity) -> str:
    v = q.value
    fmt = q.format
    if fmt == BINARY_SI:
        if -1024 < v < 1024 or v.denominator != 1:
            fmt = DECIMAL_SI
        else:
            n = int(v)
            k = 0
            while k < 6 and n % 1024 == 0 and n != 0:
                n //= 1024
                k += 1
            return f"{n}{['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][k]}"
    m, e = _mantissa_exponent(v)
    if m == 0:
        return "0"
    if fmt == DECIMAL_SI and e in _DECIMAL_SUFFIX:
        return f"{m}{_DECIMAL_SUFFIX[e]}"
    return f"{m}" if e == 0 else f"{m}e{e}"


def canonicalize(text: object, round_milli: bool = False) -> object:
    """The string the server would store for this quantity; the input unchanged when it does not parse."""
    q = parse_quantity(text)
    if q is None:
        return text
    if round_milli:
        q = q.round_up_milli()
    return canonical(q)
