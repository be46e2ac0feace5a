"""Turn a container's image, command and args into a ``Program``: timed output, sleeps and an exit code.

The rules (which commands exist and what they do) are data in ``kubelab.kubelet.lifecycle``; this module is the
small interpreter: a tokenizer and parser for the shell subset those rules describe, evaluated ahead of time
(everything is deterministic, so a script compiles to a flat list of steps, with at most one endless loop).
Simplified: no pipes (only the first command of a pipeline counts), no redirections, no arithmetic, single and
double quotes are treated alike, and conditions of ``if``/``while`` use the static status of their commands.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field

from kubelab.kubelet import images, lifecycle

DATE_MARK = "\x00date\x00"  # replaced by the time the line is written
_MAX_UNROLL = 1000


@dataclass(frozen=True)
class Step:
    op: str  # "out" | "sleep" | "exit" | "forever" | "loop"
    text: str = ""
    seconds: float = 0.0
    code: int = 0
    body: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Program:
    steps: tuple[Step, ...]
    handles_sigterm: bool = False  # exits 0 at once on SIGTERM; otherwise (PID 1) killed at the grace period end
    notice: str = ""  # a log line for programs that would have printed something the lab cannot simulate

    @property
    def runs_forever(self) -> bool:
        return any(s.op in ("forever", "loop") for s in self.steps)


def program_for(image: str, command: list[str], args: list[str], env: dict[str, str], *, stdin: bool = False,
                hostname: str = "") -> Program:
    """The program a container runs (rules in ``kubelab.kubelet.lifecycle``)."""
    argv = [expand_kubernetes_vars(a, env) for a in [*command, *args]]
    try:
        ref = images.parse(image)
        repo, kind = ref.name, (images.known(ref).kind if images.known(ref) else "server")  # type: ignore[union-attr]
    except images.InvalidImageName:
        repo, kind = image, "server"
    notice = lifecycle.NO_OUTPUT_NOTICE.format(image=image)
    required = lifecycle.REQUIRED_ENV.get(repo)
    if not argv or os.path.basename(argv[0]) in lifecycle.SERVERS:
        if required and not any(env.get(v) for v in required[0]):
            return Program((Step("out", required[1]), Step("exit", code=required[2])))
        if argv and os.path.basename(argv[0]) == "docker-entrypoint.sh" and len(argv) > 1 \
                and os.path.basename(argv[1]) not in lifecycle.SERVERS:
            argv = argv[1:]  # "/docker-entrypoint.sh echo hi" runs its arguments
        elif not argv and kind == "shell":
            if stdin:  # an interactive shell waits for input
                return Program((Step("forever"),))
            return Program((Step("exit", code=0),))
        else:
            return Program((Step("forever"),), handles_sigterm=True, notice=notice)
    name = os.path.basename(argv[0])
    if name in lifecycle.SHELLS:
        if "-c" in argv[1:]:
            i = argv.index("-c", 1)
            script = argv[i + 1] if i + 1 < len(argv) else ""
            return _compile(script, env, hostname, notice)
        if len(argv) == 1:
            return Program((Step("forever"),)) if stdin else Program((Step("exit", code=0),))
        return Program((Step("forever"),), notice=notice)  # "sh script.sh": a script the lab cannot read
    return _compile_argv(argv, env, hostname, notice)


def expand_kubernetes_vars(s: str, env: dict[str, str]) -> str:
    """Kubernetes' own $(VAR) expansion of command and args ($$ escapes; unknown references stay as written)."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0).startswith("$$"):
            return m.group(0)[1:]
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, s)


# ------------------------------------------------------------------------------------------------ parsing
@dataclass
class _Cmd:
    words: list[str]


@dataclass
class _Loop:
    cond: list[tuple[str, object]]
    body: list[tuple[str, object]]
    until: bool = False


@dataclass
class _For:
    var: str
    words: list[str]
    body: list[tuple[str, object]]


@dataclass
class _If:
    branches: list[tuple[list[tuple[str, object]], list[tuple[str, object]]]]
    otherwise: list[tuple[str, object]] = field(default_factory=list)


_OPS = {";", "&&", "||", "|", "&", ";;"}


class _Parser:
    def __init__(self, script: str) -> None:
        lex = shlex.shlex(script.replace("\n", " ; "), posix=True, punctuation_chars=";&|")
        lex.whitespace_split = True
        lex.commenters = "#"
        try:
            self.toks = list(lex)
        except ValueError:  # unbalanced quotes: take the words as they come
            self.toks = script.split()
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str | None:
        t = self.peek()
        self.i += 1
        return t

    def expect(self, word: str) -> None:
        if self.peek() == word:
            self.i += 1

    def parse_list(self, stops: frozenset[str]) -> list[tuple[str, object]]:
        items: list[tuple[str, object]] = []
        op = ";"
        while True:
            while self.peek() in (";", "&", ";;"):
                self.take()
                op = ";"
            t = self.peek()
            if t is None or t in stops:
                return items
            items.append((op, self.parse_command()))
            nxt = self.peek()
            if nxt in ("&&", "||"):
                op = str(self.take())
            elif nxt == "|":  # a pipeline: only its first command counts
                self.take()
                self.parse_command()
                op = ";"
            else:
                op = ";"

    def parse_command(self) -> object:
        t = self.peek()
        if t in ("while", "until"):
            self.take()
            cond = self.parse_list(frozenset({"do"}))
            self.expect("do")
            body = self.parse_list(frozenset({"done"}))
            self.expect("done")
            return _Loop(cond, body, until=t == "until")
        if t == "for":
            self.take()
            var = self.take() or "_"
            words: list[str] = []
            if self.peek() == "in":
                self.take()
                while self.peek() not in (None, ";", "do"):
                    words.append(str(self.take()))
            while self.peek() == ";":
                self.take()
            self.expect("do")
            body = self.parse_list(frozenset({"done"}))
            self.expect("done")
            return _For(var, words, body)
        if t == "if":
            self.take()
            branches = []
            otherwise: list[tuple[str, object]] = []
            while True:
                cond = self.parse_list(frozenset({"then"}))
                self.expect("then")
                body = self.parse_list(frozenset({"elif", "else", "fi"}))
                branches.append((cond, body))
                nxt = self.take()
                if nxt == "elif":
                    continue
                if nxt == "else":
                    otherwise = self.parse_list(frozenset({"fi"}))
                    self.expect("fi")
                break
            return _If(branches, otherwise)
        if t in ("{", "("):
            self.take()
            body = self.parse_list(frozenset({"}", ")"}))
            self.take()
            return _If([([], body)])
        words = []
        while self.peek() is not None and self.peek() not in _OPS:
            words.append(str(self.take()))
        return _Cmd(words)


# ------------------------------------------------------------------------------------------------ evaluation
class _Eval:
    def __init__(self, env: dict[str, str], hostname: str) -> None:
        self.env = dict(env)
        self.env.setdefault("HOSTNAME", hostname)
        self.hostname = hostname
        self.steps: list[Step] = []
        self.status = 0
        self.ended = False
        self.known_commands = 0
        self.unknown_commands = 0

    def run_list(self, items: list[tuple[str, object]]) -> None:
        for op, node in items:
            if self.ended:
                return
            if (op == "&&" and self.status != 0) or (op == "||" and self.status == 0):
                continue
            self.run_node(node)

    def run_node(self, node: object) -> None:
        if isinstance(node, _Cmd):
            self.run_command([self.expand(w) for w in node.words])
        elif isinstance(node, _Loop):
            self.run_list(node.cond)
            if self.ended:
                return
            runs = (self.status != 0) if node.until else (self.status == 0)
            if not runs:
                self.status = 0
                return
            sub = _Eval(self.env, self.hostname)
            sub.run_list(node.body)
            self.known_commands += sub.known_commands
            if sub.ended:  # the body exits or blocks on its first pass
                self.steps.extend(sub.steps)
            else:
                self.steps.append(Step("loop", body=tuple(sub.steps)))
            self.ended = True
        elif isinstance(node, _For):
            words = [w for word in node.words for w in self.expand(word).split()]
            for w in words[:_MAX_UNROLL]:
                self.env[node.var] = w
                self.run_list(node.body)
                if self.ended:
                    return
        elif isinstance(node, _If):
            for cond, body in node.branches:
                self.run_list(cond)
                if self.ended:
                    return
                if self.status == 0:
                    self.run_list(body)
                    return
            self.run_list(node.otherwise)

    def expand(self, word: str) -> str:
        """$VAR and ${VAR:-default}, from the container's env and the script's own assignments."""
        word = word.replace("$?", str(self.status))
        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)", self.variable,
                      word)

    def parse(self, script: str) -> list[tuple[str, object]]:
        """Command substitutions the lab knows ($(hostname), $(date), $(seq 1 3), ...) first, then parse."""
        script = re.sub(r"\$\(([^()]*)\)|`([^`]*)`",
                        lambda m: self.substitute(m.group(1) if m.group(1) is not None else m.group(2)), script)
        return _Parser(script).parse_list(frozenset())

    def substitute(self, inner: str) -> str:
        words = inner.strip().split()
        if not words:
            return ""
        cmd = os.path.basename(words[0])
        if cmd == "hostname":
            return self.hostname
        if cmd == "date":
            return DATE_MARK
        if cmd == "whoami":
            return "root"
        if cmd == "seq":
            return " ".join(_seq(words[1:]))
        return ""

    def variable(self, m: re.Match[str]) -> str:
        name, default = m.group(1) or m.group(3), m.group(2)
        value = self.env.get(name, "")
        return value if value or default is None else default

    def run_command(self, argv: list[str]) -> None:
        while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):  # VAR=value assignments
            k, _, v = argv.pop(0).partition("=")
            self.env[k] = v
        if not argv:
            self.status = 0
            return
        name = os.path.basename(argv[0])
        rest = argv[1:]
        if name == "exec" and rest:
            self.run_command(rest)
            return
        if name == "export":
            for a in rest:
                k, eq, v = a.partition("=")
                if eq:
                    self.env[k] = v
            self.status = 0
            return
        if name in lifecycle.SHELLS and "-c" in rest:
            i = rest.index("-c")
            self.run_list(self.parse(rest[i + 1] if i + 1 < len(rest) else ""))
            return
        if name in lifecycle.SERVERS:
            self.known_commands += 1
            self.steps.append(Step("forever"))
            self.ended = True
            return
        rule = lifecycle.COMMANDS.get(name)
        if rule is None:
            self.unknown_commands += 1
            self.status = 0
            return
        self.known_commands += 1
        self.status = rule.exit_code
        if rule.runs == "sleep":
            seconds = _duration(rest[0]) if rest else 0.0
            if seconds is None:
                self.status = 1
            elif seconds == float("inf"):
                self.steps.append(Step("forever"))
                self.ended = True
            elif seconds > 0:
                self.steps.append(Step("sleep", seconds=seconds))
        elif rule.runs == "exit":
            code = int(rest[0]) if rest and rest[0].lstrip("-").isdigit() else self.status
            self.steps.append(Step("exit", code=code & 0xFF))
            self.ended = True
        elif rule.runs == "forever" or (rule.runs == "follow" and any(a in ("-f", "-F") for a in rest)):
            self.steps.append(Step("forever"))
            self.ended = True
        if rule.output is not None:
            text = self.render(rule.output, name, rest)
            if text is not None:
                self.steps.append(Step("out", text=text))

    def render(self, template: str, name: str, rest: list[str]) -> str | None:
        if template == "{args}":
            newline = True
            words = list(rest)
            while words and words[0] in ("-n", "-e", "-ne", "-en", "-E"):
                newline = newline and "n" not in words[0]
                words.pop(0)
            text = " ".join(words).replace("\\n", "\n").replace("\\t", "\t")
            return text if newline or text else None
        if template == "{printf}":
            if not rest:
                return None
            fmt, values = rest[0], rest[1:]
            out = fmt.replace("%s", "{}").replace("%d", "{}")
            try:
                out = out.format(*values) if values else out
            except (IndexError, ValueError):
                pass
            out = out.replace("\\n", "\n").replace("\\t", "\t")
            return out.rstrip("\n") if out.strip() else None
        if template == "{env}":
            if rest:
                value = self.env.get(rest[0])
                if value is None:
                    self.status = 1
                    return None
                return value
            return "\n".join(f"{k}={v}" for k, v in self.env.items())
        if template == "{seq}":
            return "\n".join(_seq(rest)) or None
        return template.format(date=DATE_MARK, hostname=self.hostname)


def _seq(args: list[str]) -> list[str]:
    try:
        nums = [int(a) for a in args]
    except ValueError:
        return []
    if len(nums) == 1:
        lo, step, hi = 1, 1, nums[0]
    elif len(nums) == 2:
        lo, step, hi = nums[0], 1, nums[1]
    elif len(nums) >= 3:
        lo, step, hi = nums[0], nums[1] or 1, nums[2]
    else:
        return []
    return [str(n) for n in range(lo, hi + (1 if step > 0 else -1), step)][:_MAX_UNROLL]


def _duration(s: str) -> float | None:
    """sleep's argument: 5, 0.5, 2m, 1h, 1d, infinity; None when it does not parse (sleep fails)."""
    if s in ("inf", "infinity"):
        return float("inf")
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", s)
    if not m:
        return None
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _compile(script: str, env: dict[str, str], hostname: str, notice: str) -> Program:
    ev = _Eval(env, hostname)
    ev.run_list(ev.parse(script))
    return _finish(ev, notice)


def _compile_argv(argv: list[str], env: dict[str, str], hostname: str, notice: str) -> Program:
    ev = _Eval(env, hostname)
    ev.run_command(argv)
    return _finish(ev, notice)


def _finish(ev: _Eval, notice: str) -> Program:
    if ev.known_commands == 0 and ev.unknown_commands > 0:
        return Program((*ev.steps, Step("forever")), notice=notice)  # a program the lab does not know
    steps = list(ev.steps)
    if not ev.ended:
        steps.append(Step("exit", code=ev.status))
    return Program(tuple(steps))


__all__ = ["DATE_MARK", "Program", "Step", "expand_kubernetes_vars", "program_for"]
