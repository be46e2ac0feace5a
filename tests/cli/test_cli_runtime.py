"""``kubelab up --runtime``: parsing, refusal when the process runtime cannot run here, the default's note, and
the choice handed to a detached child (so parent and child agree)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kubelab import cli
from kubelab.backends import runtimes


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBELAB_HOME", str(tmp_path / "kubelab-home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kube" / "config"))
    monkeypatch.delenv("KUBELAB_RUNTIME", raising=False)
    return tmp_path


def test_runtime_flag_parses() -> None:
    p = cli.build_parser()
    assert p.parse_args(["up"]).runtime is None
    assert p.parse_args(["up", "--runtime", "process"]).runtime == "process"
    with pytest.raises(SystemExit):
        p.parse_args(["up", "--runtime", "vm"])


def test_process_runtime_refused_when_it_cannot_run(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(runtimes, "process_unavailable_reason", lambda: "proot is not installed")
    assert cli.main(["up", "--name", "x", "--runtime", "process"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kubelab: the process runtime cannot run here: proot is not installed")


def test_default_notes_why_pods_are_simulated(home: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(runtimes, "process_unavailable_reason", lambda: "proot is not installed")
    args = cli.build_parser().parse_args(["up", "--name", "x"])
    assert cli._check_up_args(args) is None
    assert args.runtime == "simulated"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pods will be simulated" in err and "proot is not installed" in err


def test_detached_child_gets_the_chosen_runtime(home: Path) -> None:
    args = argparse.Namespace(name="x", port=0, kubeconfig="/k", config=None, data_dir=None, runtime="process")
    argv = cli._child_argv(args)
    assert argv[argv.index("--runtime") + 1] == "process"
