"""String format checks with the exact detail texts kube-apiserver reports.

Mirrors k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label,
IsConfigMapKey, IsValidPortName, IsValidPercent, IsHTTPHeaderName, IsRelaxedEnvVarName, ...),
k8s.io/apimachinery/pkg/api/validate/content (IsLabelKey, IsLabelValue: those say "bytes" since 1.34),
k8s.io/apimachinery/pkg/api/validation/generic.go (the Name*(name, prefix) functions and maskTrailingDash) and
k8s.io/apimachinery/pkg/api/validation/path (IsValidPathSegmentName). Each check returns a list of detail
strings, empty when the value is fine, exactly as the Go functions do.

Simplified: Go regexps are applied with Python's re (same syntax for these patterns); lengths are counted in
characters of the Python string, which equals bytes for the ASCII values these formats accept.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

NameFn = Callable[[str, bool], list[str]]


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def max_len_bytes_error(length: int) -> str:
    """content.MaxLenError: the label key/value checks moved to this wording in 1.34."""
    return f"must be no more than {length} bytes"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return msg + " (regex used for validation is '" + fmt + "')"
    msg += " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += "'" + ex + "', "
    return msg + "regex used for validation is '" + fmt + "')"


def empty_error() -> str:
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_ERR = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL_ERR = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character"
)
DNS1035_LABEL_MAX = 63

_dns1123_label_re = re.compile("^" + DNS1123_LABEL_FMT + "$")
_dns1123_subdomain_re = re.compile("^" + DNS1123_SUBDOMAIN_FMT + "$")
_dns1035_label_re = re.compile("^" + DNS1035_LABEL_FMT + "$")


def is_dns1123_label(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _dns1123_label_re.match(value):
        if _dns1123_subdomain_re.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _dns1123_subdomain_re.match(value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1035_LABEL_MAX:
        errs.append(max_len_error(DNS1035_LABEL_MAX))
    if not _dns1035_label_re.match(value):
        errs.append(regex_error(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_KEY_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_label_key_re = re.compile("^" + LABEL_KEY_FMT + "$")
LABEL_VALUE_FMT = "(" + LABEL_KEY_FMT + ")?"
LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_label_value_re = re.compile("^" + LABEL_VALUE_FMT + "$")


def is_qualified_name(value: str) -> list[str]:
    """content.IsLabelKey (a.k.a. IsQualifiedName): optional DNS-subdomain prefix, '/', a 63-byte name."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return errs + [
            "a valid label key "
            + regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif len(name) > 63:
        errs.append("name part " + max_len_bytes_error(63))
    if not _label_key_re.match(name):
        errs.append("name part " + regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append(max_len_bytes_error(63))
    if not _label_value_re.match(value):
        errs.append(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"
CONFIG_MAP_KEY_ERR = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_config_map_key_re = re.compile("^" + CONFIG_MAP_KEY_FMT + "$")


def _has_chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_config_map_key(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _config_map_key_re.match(value):
        errs.append(regex_error(CONFIG_MAP_KEY_ERR, CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    return errs + _has_chdir_prefix(value)


ENV_VAR_NAME_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
ENV_VAR_NAME_ERR = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
    "or '.', and must not start with a digit"
)
RELAXED_ENV_VAR_NAME_ERR = (
    "a valid environment variable name must consist only of printable ASCII characters other than '='"
)
_env_var_name_re = re.compile("^" + ENV_VAR_NAME_FMT + "$")


def is_env_var_name(value: str) -> list[str]:
    errs: list[str] = []
    if not _env_var_name_re.match(value):
        errs.append(
            regex_error(ENV_VAR_NAME_ERR, ENV_VAR_NAME_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1")
        )
    return errs + _has_chdir_prefix(value)


def is_relaxed_env_var_name(value: str) -> list[str]:
    """RelaxedEnvironmentVariableValidation is GA (1.34): any printable ASCII except '='."""
    errs: list[str] = []
    if not value:
        errs.append("environment variable name " + empty_error())
    for ch in value:
        if ord(ch) > 127 or not ch.isprintable() or ch == "=":
            errs.append(RELAXED_ENV_VAR_NAME_ERR)
            break
    return errs


def is_valid_port_num(port: int) -> list[str]:
    if 1 <= port <= 65535:
        return []
    return [inclusive_range_error(1, 65535)]


_port_name_charset = re.compile("^[-a-z0-9]+$")
_port_name_one_letter = re.compile("[a-z]")


def is_valid_port_name(port: str) -> list[str]:
    errs: list[str] = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _port_name_charset.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _port_name_one_letter.search(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


PERCENT_FMT = "[0-9]+%"
_percent_re = re.compile("^" + PERCENT_FMT + "$")


def is_valid_percent(percent: str) -> list[str]:
    if not _percent_re.match(percent):
        return [
            regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'",
                PERCENT_FMT,
                "1%",
                "93%",
            )
        ]
    return []


HTTP_HEADER_NAME_FMT = "[-A-Za-z0-9]+"
_http_header_re = re.compile("^" + HTTP_HEADER_NAME_FMT + "$")


def is_http_header_name(value: str) -> list[str]:
    if not _http_header_re.match(value):
        return [
            regex_error(
                "a valid HTTP header must consist of alphanumeric characters or '-'",
                HTTP_HEADER_NAME_FMT,
                "X-Header-Name",
            )
        ]
    return []


def is_valid_user_id(uid: int) -> list[str]:
    if 0 <= uid <= 0xFFFFFFFF:
        return []
    return [inclusive_range_error(0, 0xFFFFFFFF)]


is_valid_group_id = is_valid_user_id

IP_ERROR = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_ERROR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_valid_ip(value: str) -> list[str]:
    return [] if parse_ip(value) is not None else [IP_ERROR]


def is_valid_cidr(value: str) -> list[str]:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return [CIDR_ERROR]
    return []


def is_valid_path_segment_name(name: str) -> list[str]:
    """path.IsValidPathSegmentName: RBAC role and binding names, scale target refs."""
    for illegal in (".", ".."):
        if name == illegal:
            return [f"may not be '{illegal}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _mask_trailing_dash(name: str) -> str:
    """generic.go maskTrailingDash: a generateName may end in '-' (upstream replaces the last two chars)."""
    if name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def path_segment_name(name: str, prefix: bool) -> list[str]:
    if prefix:
        return [f"may not contain '{c}'" for c in ("/", "%") if c in name]
    return is_valid_path_segment_name(name)
