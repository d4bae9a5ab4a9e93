"""Every flag means one thing: wherever a command takes it, it has the same help, type, choices
and default (``fuzzpass.commands.flags`` defines the shared ones once). ``cli.py`` stays a thin
parser and dispatcher, a rejected command line is one ``UsageError`` line, and ``--help``
imports neither torch nor JAX."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from fuzzpass.cli import main, parser
from fuzzpass.commands import flags
from fuzzpass.fuzz.options import Budget, Options

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "fuzzpass" / "cli.py"
COMMANDS = ROOT / "fuzzpass" / "commands"
CLI_LINES, CLI_FUNCTION_LINES, COMMAND_FUNCTION_LINES = 350, 60, 80


def subparsers(top: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def meaning(action: argparse.Action) -> tuple[Any, ...]:
    return action.help, action.type, tuple(action.choices or ()), action.default, action.nargs, action.const


def disagreements(top: argparse.ArgumentParser) -> dict[str, dict[tuple[Any, ...], list[str]]]:
    """Each option string that two commands give different meanings, with who gives which."""
    seen: dict[str, dict[tuple[Any, ...], list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, sub in subparsers(top).items():
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    seen[option][meaning(action)].append(name)
    return {option: dict(meanings) for option, meanings in seen.items() if len(meanings) > 1}


def test_every_flag_means_the_same_on_every_command() -> None:
    assert disagreements(parser()) == {}


def test_the_walk_sees_the_shared_flags() -> None:
    takers = defaultdict(set)
    for name, sub in subparsers(parser()).items():
        for action in sub._actions:
            for option in action.option_strings:
                takers[option].add(name)
    assert takers["--tpu"] == {"check", "run", "corpus", "bench", "bisect"}
    assert takers["--examples"] == takers["--ray"] == {"run", "corpus"}
    assert takers["--timeout"] == {"run", "exhaust", "corpus"}
    assert takers["-o"] == {"report", "minimize", "export", "propose"}
    assert "--corpus" not in takers and "--policy" not in {o for o in takers if "exhaust" in takers[o]}


def test_the_walk_finds_a_flag_with_two_meanings() -> None:
    top = argparse.ArgumentParser()
    sub = top.add_subparsers(dest="command")
    sub.add_parser("a").add_argument("--tpu", default=None, help="generations")
    sub.add_parser("b").add_argument("--tpu", default="all", help="generations")
    sub.add_parser("c").add_argument("--seed", type=int, default=None)
    sub.add_parser("d").add_argument("--seed", type=int, default=None)
    (meanings,) = disagreements(top).values()
    assert sorted(meanings.values()) == [["a"], ["b"]]


def long_functions(path: Path, limit: int) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > limit
    ]


def test_cli_stays_a_parser_and_a_dispatcher() -> None:
    assert len(CLI.read_text().splitlines()) <= CLI_LINES
    assert long_functions(CLI, CLI_FUNCTION_LINES) == []


def test_no_command_body_grows_long() -> None:
    assert [hit for path in sorted(COMMANDS.glob("*.py")) for hit in long_functions(path, COMMAND_FUNCTION_LINES)] == []


def test_the_length_check_finds_a_long_function(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def short():\n    pass\n\n\ndef long():\n" + "    x = 1\n" * 61)
    assert long_functions(probe, 60) == ["probe.py:long (62 lines)"]


def test_only_main_turns_a_usage_error_into_exit_2() -> None:
    """No command prints its own error and returns 2: it raises ``UsageError``, once caught."""
    for path in [CLI, *sorted(COMMANDS.glob("*.py"))]:
        returns_2 = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and node.value.value == 2
        ]
        assert len(returns_2) == (1 if path == CLI else 0), path.name
        assert path.read_text().count('f"fuzzpass: error') == (1 if path == CLI else 0), path.name


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["report", "/nonexistent-run"], "fuzzpass: error: /nonexistent-run is not a run's --out directory"),
        (["gate-report", "/nonexistent-run"], "fuzzpass: error: /nonexistent-run/gate.jsonl does not exist"),
        (["mutants", "--only", "drop-remask,lava"], "fuzzpass: error: --only: unknown mutant ['lava']"),
        (["check", "x.json", "--tpu", "v9"], "fuzzpass: error: argument --tpu: unknown TPU generation ['v9']"),
        (["run", "--check-gate", "--tpu", "none"], "fuzzpass: error: --check-gate: "),
    ],
)
def test_a_rejected_command_line_is_one_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(said), err


def test_tpu_takes_all_none_or_generations() -> None:
    assert flags.generations("all") == flags.GENERATION_NAMES
    assert flags.generations("none") == ()
    assert flags.generations("v6e, tpu7x") == ("v6e", "tpu7x")
    with pytest.raises(argparse.ArgumentTypeError):
        flags.generations("all,v5e")


def test_the_examples_database_defaults_under_out(tmp_path: Path) -> None:
    from fuzzpass.judge.checked import Config

    assert Options(Config(), Budget(cases=1), out=tmp_path).examples_at == str(tmp_path / "examples")
    assert Options(Config(), Budget(cases=1), out=tmp_path, examples="redis://h:1/0").examples_at == "redis://h:1/0"


def test_the_names_listed_for_help_are_the_registries() -> None:
    from fuzzpass.backends import tpu_aot
    from fuzzpass.core.data import POISONS
    from fuzzpass.judge.gate import GENERATIONS
    from fuzzpass.judge.mutants import MUTANTS
    from reference import gates

    assert tuple(MUTANTS) == flags.MUTANT_NAMES
    assert flags.POISON_NAMES == POISONS
    assert tuple(gates.GATES) == flags.GATE_NAMES and flags.GATE_NAMES[0] == gates.DEFAULT
    assert flags.GENERATION_NAMES == tuple(tpu_aot.TOPOLOGIES) == GENERATIONS
    assert flags.DEFAULT_GENERATIONS == tpu_aot.DEFAULT_GENERATIONS


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["corpus", "--help"]])
def test_help_imports_neither_torch_nor_jax(argv: list[str]) -> None:
    script = (
        "import sys\nfrom fuzzpass.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'jax') if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=120)
    assert "usage: fuzzpass" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def test_a_flag_is_never_an_abbreviation_of_another(capsys: pytest.CaptureFixture[str]) -> None:
    """``propose --out`` would otherwise be read as ``--output``: one flag, one meaning."""
    assert main(["propose", "candidates/x.py:X", "--out", "p.patch"]) == 2
    assert "unrecognized arguments: --out p.patch" in capsys.readouterr().err
