"""The command rules (kubelab.kubelet.lifecycle) as compiled programs: table-driven."""

from __future__ import annotations

import pytest

from kubelab.kubelet.programs import DATE_MARK, Program, Step, expand_kubernetes_vars, program_for

FOREVER = (Step("forever"),)


def _p(*steps: Step, term: bool = False, notice: bool = False) -> tuple[tuple[Step, ...], bool, bool]:
    return steps, term, notice


CASES = [
    # image, command, args, env, stdin -> (steps, handles SIGTERM, has a no-output notice)
    ("nginx", [], [], {}, False, _p(*FOREVER, term=True, notice=True)),
    ("redis:7.2", [], [], {}, False, _p(*FOREVER, term=True, notice=True)),
    ("busybox", [], [], {}, False, _p(Step("exit", code=0))),
    ("busybox", [], [], {}, True, _p(*FOREVER)),
    ("ubuntu:24.04", ["bash"], [], {}, False, _p(Step("exit", code=0))),
    ("busybox", ["sh", "-c", "exit 1"], [], {}, False, _p(Step("exit", code=1))),
    ("busybox", ["sh", "-c"], ["exit 300"], {}, False, _p(Step("exit", code=44))),
    ("busybox", ["false"], [], {}, False, _p(Step("exit", code=1))),
    ("busybox", ["true"], [], {}, False, _p(Step("exit", code=0))),
    ("busybox", ["echo", "done"], [], {}, False, _p(Step("out", "done"), Step("exit"))),
    ("busybox", [], ["sleep", "30"], {}, False, _p(Step("sleep", seconds=30), Step("exit"))),
    ("busybox", ["sleep", "1m"], [], {}, False, _p(Step("sleep", seconds=60), Step("exit"))),
    ("busybox", ["sleep", "infinity"], [], {}, False, _p(*FOREVER)),
    ("busybox", ["tail", "-f", "/dev/null"], [], {}, False, _p(*FOREVER)),
    ("busybox", ["sh", "-c", "sleep 5 && exit 3"], [], {}, False, _p(Step("sleep", seconds=5), Step("exit", code=3))),
    ("busybox", ["sh", "-c", "false || echo recovered"], [], {}, False, _p(Step("out", "recovered"), Step("exit"))),
    ("busybox", ["sh", "-c", "false; echo $?"], [], {}, False, _p(Step("out", "1"), Step("exit"))),
    ("busybox", ["sh", "-c", "echo a\necho b"], [], {}, False, _p(Step("out", "a"), Step("out", "b"), Step("exit"))),
    ("busybox", ["sh", "-c", "while true; do echo hi; sleep 5; done"], [], {}, False,
     _p(Step("loop", body=(Step("out", "hi"), Step("sleep", seconds=5))))),
    ("busybox", ["sh", "-c", "for i in 1 2; do echo n$i; done"], [], {}, False,
     _p(Step("out", "n1"), Step("out", "n2"), Step("exit"))),
    ("busybox", ["sh", "-c", "for i in $(seq 3); do echo $i; done"], [], {}, False,
     _p(Step("out", "1"), Step("out", "2"), Step("out", "3"), Step("exit"))),
    ("busybox", ["sh", "-c", "echo $GREETING from $(hostname)"], [], {"GREETING": "hi"}, False,
     _p(Step("out", "hi from pod-1"), Step("exit"))),
    ("busybox", ["echo", "$(GREETING)"], [], {"GREETING": "hi"}, False, _p(Step("out", "hi"), Step("exit"))),
    ("busybox", ["sh", "-c", "date"], [], {}, False, _p(Step("out", DATE_MARK), Step("exit"))),
    ("busybox", ["printenv", "MISSING"], [], {}, False, _p(Step("exit", code=1))),
    ("python:3.12", ["python", "app.py"], [], {}, False, _p(*FOREVER, notice=True)),
    ("postgres:16", [], [], {}, False, None),  # checked below
    ("nginx", [], ["echo", "hi"], {}, False, _p(Step("out", "hi"), Step("exit"))),
    ("nginx", ["nginx", "-g", "daemon off;"], [], {}, False, _p(*FOREVER, term=True, notice=True)),
]


@pytest.mark.parametrize(("image", "command", "args", "env", "stdin", "want"), CASES)
def test_program_for(image: str, command: list[str], args: list[str], env: dict[str, str], stdin: bool,
                     want: tuple[tuple[Step, ...], bool, bool] | None) -> None:
    p = program_for(image, command, args, env, stdin=stdin, hostname="pod-1")
    if want is None:
        return
    steps, term, notice = want
    assert p.steps == steps
    assert p.handles_sigterm is term
    assert bool(p.notice) is notice


def test_postgres_needs_its_password() -> None:
    p = program_for("postgres:16", [], [], {})
    assert p.steps[-1] == Step("exit", code=1) and "POSTGRES_PASSWORD" in p.steps[0].text
    assert program_for("postgres:16", [], [], {"POSTGRES_PASSWORD": "x"}).runs_forever


def test_kubernetes_var_expansion() -> None:
    env = {"A": "1"}
    assert expand_kubernetes_vars("$(A)-$(B)-$$(A)", env) == "1-$(B)-$(A)"
    assert isinstance(program_for("busybox", [], [], {}), Program)
