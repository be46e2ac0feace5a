"""Validation of batch/v1 kinds: Job and CronJob, including the cron schedule parser.

Mirrors pkg/apis/batch/validation/validation.go (ValidateJob, validateGeneratedSelector, ValidateJobSpec,
validateJobSpec, ValidateJobSpecUpdate, validatePodTemplateUpdate, validateCompletions, ValidateCronJobCreate,
validateCronJobSpec, validateScheduleFormat, validateTimeZone, ValidateJobTemplateSpec), the options
pkg/registry/batch/job/strategy.go passes (prefixed labels required, scheduling directives mutable while a job
is suspended and not started, elastic indexed jobs), and the parser of github.com/robfig/cron/v3
(ParseStandard: 5 fields, @descriptors, TZ=/CRON_TZ= prefixes) with its exact error texts.

Simplified: podFailurePolicy and successPolicy rules are only checked for the restartPolicy interplay, the job
status rules (status subresource) are not here; time zones are checked against Python's zoneinfo database.
"""

from __future__ import annotations

import re
from typing import Any

from kubelab.api.errors import FieldError
from kubelab.api.validation import names as n
from kubelab.api.validation.core import validate_pod_template_spec
from kubelab.api.validation.meta import (
    Obj,
    child,
    d,
    dd,
    immutable,
    invalid,
    jv,
    nonnegative,
    not_supported,
    required,
    s,
    selector_matches,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"

# ------------------------------------------------------------------------------------------------------------
# robfig/cron/v3 ParseStandard
# ------------------------------------------------------------------------------------------------------------

_BOUNDS = {
    "minute": (0, 59, None),
    "hour": (0, 23, None),
    "dom": (1, 31, None),
    "month": (
        1,
        12,
        {
            m: i + 1
            for i, m in enumerate(
                ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
            )
        },
    ),
    "dow": (0, 6, {d_: i for i, d_ in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}),
}
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_GO_DURATION = re.compile(r"^[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$")
_INT64_MAX = 2**63 - 1


def _go_atoi(expr: str) -> int:
    """strconv.Atoi with its error texts."""
    if re.fullmatch(r"[+-]?[0-9]+", expr):
        v = int(expr)
        if v > _INT64_MAX or v < -_INT64_MAX - 1:
            raise ValueError(f'strconv.Atoi: parsing "{expr}": value out of range')
        return v
    raise ValueError(f'strconv.Atoi: parsing "{expr}": invalid syntax')


def _must_parse_int(expr: str) -> int:
    try:
        num = _go_atoi(expr)
    except ValueError as e:
        raise ValueError(f"failed to parse int from {expr}: {e}") from None
    if num < 0:
        raise ValueError(f"negative number ({num}) not allowed: {expr}")
    return num


def _parse_int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None and expr.lower() in names:
        return names[expr.lower()]
    return _must_parse_int(expr)


def _check_range(expr: str, lo: int, hi: int, names: dict[str, int] | None) -> None:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    if low_and_high[0] in ("*", "?"):
        start, end = lo, hi
    else:
        start = _parse_int_or_name(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int_or_name(low_and_high[1], names)
        else:
            raise ValueError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if single:
            end = hi
    else:
        raise ValueError(f"too many slashes: {expr}")
    if start < lo:
        raise ValueError(f"beginning of range ({start}) below minimum ({lo}): {expr}")
    if end > hi:
        raise ValueError(f"end of range ({end}) above maximum ({hi}): {expr}")
    if start > end:
        raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ValueError(f"step of range should be a positive number: {expr}")


def _check_go_duration(text: str) -> str | None:
    if text in ("0", "+0", "-0") or _GO_DURATION.match(text):
        return None
    if re.fullmatch(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", text):
        return f'time: missing unit in duration "{text}"'
    m = re.match(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)([^0-9.]+)", text)
    if m and m.group(1) not in ("ns", "us", "µs", "μs", "ms", "s", "m", "h"):
        return f'time: unknown unit "{m.group(1)}" in duration "{text}"'
    return f'time: invalid duration "{text}"'


def _load_location(name: str) -> str | None:
    """time.LoadLocation's error text, or None when the zone exists (or no tz database is installed)."""
    if name in ("", "UTC", "Local"):
        return None
    try:
        import zoneinfo
    except ImportError:  # pragma: no cover
        return None
    try:
        zoneinfo.ZoneInfo(name)
        return None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        if not zoneinfo.available_timezones():
            return None
        return f"unknown time zone {name}"


def parse_cron_standard(spec: str) -> str | None:
    """cron.ParseStandard: None when the schedule parses, else the parser's error text."""
    if not spec:
        return "empty spec string"
    if spec.startswith(("TZ=", "CRON_TZ=")):
        i = spec.find(" ")
        eq = spec.find("=")
        loc = spec[eq + 1 : i] if i >= 0 else spec[eq + 1 :]
        err = _load_location(loc)
        if err:
            return f"provided bad location {loc}: {err}"
        spec = spec[i:].strip() if i >= 0 else ""
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            err = _check_go_duration(spec[len("@every ") :])
            if err:
                return f"failed to parse duration {spec}: {err}"
            return None
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    try:
        for value, kind in zip(fields, ("minute", "hour", "dom", "month", "dow"), strict=True):
            lo, hi, names = _BOUNDS[kind]
            for expr in [p for p in value.split(",") if p != ""]:
                _check_range(expr, lo, hi, names)
    except ValueError as e:
        return str(e)
    return None


# ------------------------------------------------------------------------------------------------------------
# Job
# ------------------------------------------------------------------------------------------------------------


def _has_label(tmpl_meta: Obj, path: str, k: str, expected: str) -> list[FieldError]:
    labels = dd(tmpl_meta, "labels")
    p = f"{path}.labels[{k}]"
    if k not in labels:
        return [required(p, f"must be '{expected}'")]
    if labels[k] != expected:
        return [invalid(p, jv(labels, sort_keys=True), f"must be '{expected}'")]
    return []


def _validate_generated_selector(job: Obj, require_prefixed: bool) -> list[FieldError]:
    spec = dd(job, "spec")
    if spec.get("manualSelector") is True or spec.get("selector") is None:
        return []
    errs: list[FieldError] = []
    uid, name = s(job, "metadata", "uid"), s(job, "metadata", "name")
    if not uid:
        errs.append(required("metadata.uid"))
    tmeta = dd(spec, "template", "metadata")
    tp = "spec.template.metadata"
    errs.extend(_has_label(tmeta, tp, LEGACY_CONTROLLER_UID, uid))
    errs.extend(_has_label(tmeta, tp, LEGACY_JOB_NAME, name))
    expected = {LEGACY_CONTROLLER_UID: uid, LEGACY_JOB_NAME: name}
    if require_prefixed:
        errs.extend(_has_label(tmeta, tp, CONTROLLER_UID, uid))
        errs.extend(_has_label(tmeta, tp, JOB_NAME, name))
        expected.update({CONTROLLER_UID: uid, JOB_NAME: name})
    if not selector_matches(spec.get("selector"), expected):
        errs.append(invalid("spec.selector", spec.get("selector"), "`selector` not auto-generated"))
    return errs


def _validate_job_spec_common(spec: Obj, path: str) -> list[FieldError]:
    """validateJobSpec: counters, completion mode, replacement policy, the template and its restartPolicy."""
    errs: list[FieldError] = []
    for f in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ):
        errs.extend(nonnegative(child(path, f), spec.get(f)))
    if spec.get("maxFailedIndexes") is not None and spec.get("backoffLimitPerIndex") is None:
        errs.append(required(child(path, "backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
    cm = spec.get("completionMode")
    if cm is not None:
        if cm not in ("NonIndexed", "Indexed"):
            errs.append(not_supported(child(path, "completionMode"), cm, ("NonIndexed", "Indexed")))
        if cm == "Indexed":
            if spec.get("completions") is None:
                errs.append(required(child(path, "completions"), "when completion mode is Indexed"))
            par = spec.get("parallelism")
            if isinstance(par, int) and par > 100000:
                errs.append(
                    invalid(
                        child(path, "parallelism"),
                        par,
                        "must be less than or equal to 100000 when completion mode is Indexed",
                    )
                )
    if cm in (None, "NonIndexed"):
        for f in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(f) is not None:
                errs.append(invalid(child(path, f), spec.get(f), "requires indexed completion mode"))
    prp = spec.get("podReplacementPolicy")
    if prp is not None:
        if spec.get("podFailurePolicy") is not None:
            if prp != "Failed":
                errs.append(not_supported(child(path, "podReplacementPolicy"), prp, ("Failed",)))
        elif prp not in ("Failed", "TerminatingOrFailed"):
            errs.append(
                not_supported(child(path, "podReplacementPolicy"), prp, ("Failed", "TerminatingOrFailed"))
            )
    errs.extend(validate_pod_template_spec(spec.get("template"), child(path, "template")))
    rp = s(spec, "template", "spec", "restartPolicy")
    rpp = child(path, "template", "spec", "restartPolicy")
    if rp in ("Always", ""):
        errs.append(required(rpp, 'valid values: "OnFailure", "Never"'))
    elif rp not in ("OnFailure", "Never"):
        errs.append(not_supported(rpp, rp, ("OnFailure", "Never")))
    elif spec.get("podFailurePolicy") is not None and rp != "Never":
        errs.append(invalid(rpp, rp, 'only "Never" is supported when podFailurePolicy is specified'))
    return errs


def _validate_job_spec(spec: Obj) -> list[FieldError]:
    errs = _validate_job_spec_common(spec, "spec")
    sel = spec.get("selector")
    if sel is None:
        errs.append(required("spec.selector"))
    else:
        errs.extend(validate_label_selector(sel, "spec.selector"))
        labels = d(spec, "template", "metadata", "labels")
        if not selector_matches(sel, labels):
            errs.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels if isinstance(labels, dict) else None,
                    "`selector` does not match template `labels`",
                )
            )
    return errs


def _validate_job(job: Obj, require_prefixed: bool) -> list[FieldError]:
    errs = validate_object_meta(job, True, n.name_is_dns_subdomain)
    errs.extend(_validate_generated_selector(job, require_prefixed))
    spec = dd(job, "spec")
    errs.extend(_validate_job_spec(spec))
    comps = spec.get("completions")
    if spec.get("completionMode") == "Indexed" and isinstance(comps, int) and comps > 0:
        host = f"{s(job, 'metadata', 'name')}-{comps - 1}"
        if n.is_dns1123_label(host):
            errs.append(
                invalid(
                    "metadata.name",
                    s(job, "metadata", "name"),
                    f"will not able to create pod with invalid DNS label: {host}",
                )
            )
    return errs


def validate_job(job: Obj) -> list[FieldError]:
    return _validate_job(job, True)


def validate_job_update(new: Obj, old: Obj) -> list[FieldError]:
    require_prefixed = CONTROLLER_UID in dd(old, "spec", "template", "metadata", "labels")
    errs = _validate_job(new, require_prefixed)
    errs.extend(validate_object_meta_update(new, old))
    ns, os_ = dd(new, "spec"), dd(old, "spec")
    errs.extend(_validate_job_spec(ns))
    if ns.get("completionMode") == "Indexed":
        if ns.get("completions") != os_.get("completions") and ns.get("completions") is not None:
            if ns.get("completions") != ns.get("parallelism"):
                errs.append(
                    invalid(
                        "spec.completions",
                        ns.get("completions"),
                        "can only be modified in tandem with spec.parallelism",
                    )
                )
    else:
        errs.extend(immutable("spec.completions", ns.get("completions"), os_.get("completions")))
    errs.extend(immutable("spec.selector", ns.get("selector"), os_.get("selector")))
    new_t, old_t = _copy(ns.get("template")), _copy(os_.get("template"))
    suspended = os_.get("suspend") is True and d(old, "status", "startTime") is None
    if suspended and isinstance(new_t, dict) and isinstance(old_t, dict):
        nt_spec, ot_spec = new_t.setdefault("spec", {}), old_t.setdefault("spec", {})
        for f in ("nodeSelector", "tolerations", "schedulingGates"):
            ot_spec.pop(f, None)
            if f in nt_spec:
                ot_spec[f] = nt_spec[f]
        naff, oaff = nt_spec.get("affinity"), ot_spec.get("affinity")
        if isinstance(oaff, dict) or isinstance(naff, dict):
            oaff = dict(oaff or {})
            oaff.pop("nodeAffinity", None)
            if isinstance(naff, dict) and "nodeAffinity" in naff:
                oaff["nodeAffinity"] = naff["nodeAffinity"]
            ot_spec["affinity"] = oaff
        nmeta, ometa = new_t.setdefault("metadata", {}), old_t.setdefault("metadata", {})
        for f in ("labels", "annotations"):
            ometa.pop(f, None)
            if f in nmeta:
                ometa[f] = nmeta[f]
    errs.extend(immutable("spec.template", new_t, old_t, render=ns.get("template")))
    for f in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"):
        errs.extend(immutable(f"spec.{f}", ns.get(f), os_.get(f)))
    return errs


def _copy(v: Any) -> Any:
    import copy

    return copy.deepcopy(v)


# ------------------------------------------------------------------------------------------------------------
# CronJob
# ------------------------------------------------------------------------------------------------------------

_TZ_PART = re.compile(r"^[A-Za-z\.\-_0-9+]{1,14}$")


def _validate_time_zone(tz: Any, path: str) -> list[FieldError]:
    if tz is None:
        return []
    if tz == "":
        return [invalid(path, tz, "timeZone must be nil or non-empty string")]
    for part in str(tz).split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.match(part):
            return [invalid(path, tz, f"unknown time zone {tz}")]
    errs: list[FieldError] = []
    if str(tz).lower() == "local":
        errs.append(
            invalid(
                path,
                tz,
                "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            )
        )
    err = _load_location(str(tz))
    if err:
        errs.append(invalid(path, tz, err))
    return errs


def _validate_job_template_spec(jt: Obj, path: str) -> list[FieldError]:
    spec = dd(jt, "spec")
    errs = _validate_job_spec_common(spec, child(path, "spec"))
    if spec.get("selector") is not None:
        errs.append(
            invalid(
                child(path, "spec", "selector"), spec.get("selector"), "`selector` will be auto-generated"
            )
        )
    if spec.get("manualSelector") is True:
        errs.append(not_supported(child(path, "spec", "manualSelector"), True, ("nil", "false")))
    return errs


def _validate_cronjob_spec(spec: Obj, old_spec: Obj | None) -> list[FieldError]:
    errs: list[FieldError] = []
    sched = s(spec, "schedule")
    if not sched:
        errs.append(required("spec.schedule"))
    else:
        err = parse_cron_standard(sched)
        if err:
            errs.append(invalid("spec.schedule", sched, err))
        allow_tz = old_spec is not None and "TZ" in s(old_spec, "schedule")
        if allow_tz and "TZ" in sched and spec.get("timeZone") is not None:
            errs.append(
                invalid(
                    "spec.schedule", sched, "cannot use both timeZone field and TZ or CRON_TZ in schedule"
                )
            )
        elif not allow_tz and "TZ" in sched:
            errs.append(
                invalid(
                    "spec.schedule", sched, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
                )
            )
    errs.extend(nonnegative("spec.startingDeadlineSeconds", spec.get("startingDeadlineSeconds")))
    if old_spec is None or old_spec.get("timeZone") != spec.get("timeZone"):
        errs.extend(_validate_time_zone(spec.get("timeZone"), "spec.timeZone"))
    cp = s(spec, "concurrencyPolicy")
    if not cp:
        errs.append(required("spec.concurrencyPolicy"))
    elif cp not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported("spec.concurrencyPolicy", cp, ("Allow", "Forbid", "Replace")))
    errs.extend(_validate_job_template_spec(dd(spec, "jobTemplate"), "spec.jobTemplate"))
    errs.extend(nonnegative("spec.successfulJobsHistoryLimit", spec.get("successfulJobsHistoryLimit")))
    errs.extend(nonnegative("spec.failedJobsHistoryLimit", spec.get("failedJobsHistoryLimit")))
    return errs


def validate_cronjob(cj: Obj) -> list[FieldError]:
    errs = validate_object_meta(cj, True, n.name_is_dns_subdomain)
    errs.extend(_validate_cronjob_spec(dd(cj, "spec"), None))
    if len(s(cj, "metadata", "name")) > 52:
        errs.append(invalid("metadata.name", s(cj, "metadata", "name"), "must be no more than 52 characters"))
    return errs


def validate_cronjob_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old) + _validate_cronjob_spec(dd(new, "spec"), dd(old, "spec"))
