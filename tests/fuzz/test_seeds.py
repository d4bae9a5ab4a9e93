"""Corpus-seeded fuzzing: the seed cases ``fuzzpass corpus`` adds (real kernels' structures)
are what every other segment of a run mutates: same graph, new element type, blocks, lengths
and data. A corrupt seed is one line naming it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings

from fuzzpass.core.case import parse_case
from fuzzpass.fuzz.examples import add_seeds, read_seeds
from fuzzpass.fuzz.explorer import Explorer
from fuzzpass.judge.checked import Checked, Config
from generators.examples import seeded
from generators.policies import POLICIES
from generators.structures import structure_of

ROOT = Path(__file__).resolve().parents[2]
SEED_CASE = (ROOT / "examples" / "dense-kv-q-transpose-dot.json").read_text()
SEED = parse_case(json.loads(SEED_CASE))


@settings(max_examples=40)
@given(seeded((structure_of(SEED.spec),), POLICIES["mixed"]))
def test_a_seeded_example_keeps_the_seed_graph(example: object) -> None:
    structure = example.structure  # type: ignore[attr-defined]
    assert structure.graph == SEED.spec.graph and structure.inputs == SEED.spec.inputs
    assert structure.expect_deferred == {"x": ("t0",), "kt": ()}  # from the rules, as the case expects


def test_seeded_segments_check_mutations_of_the_seed() -> None:
    seen: list[Checked] = []
    config = Config(seed=5, seeds=(SEED_CASE,))
    explorer = Explorer(config, frozenset(), seen.append, max_examples=6)
    explorer.segment(7, from_seeds=True)
    cases = [parse_case(json.loads(c.case)) for c in seen]
    assert cases and all(c.spec.graph == SEED.spec.graph for c in cases)
    assert len({(c.spec.dtype, c.spec.tiles["t0"]) for c in cases}) > 1  # the instances differ
    assert {c.verdict for c in seen} == {"pass"}


def test_seeds_round_trip_in_a_directory_and_in_redis(tmp_path: Path, redis_url: str) -> None:
    for location in (str(tmp_path / "corpus"), redis_url):
        add_seeds(location, {"a": SEED_CASE, "b": "{}"})
        add_seeds(location, {"b": SEED_CASE})  # a later text replaces an earlier one
        assert read_seeds(location) == {"a": SEED_CASE, "b": SEED_CASE}


def run(out: Path, corpus: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fuzzpass", "run", "--jobs", "1", "--seed", "3", "--out", str(out),
               "--quiet", "--no-minimize", "--budget", "40cases", "--examples", str(corpus)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_a_run_under_a_seeded_corpus_says_so(tmp_path: Path) -> None:
    add_seeds(tmp_path / "corpus", {"dense-kv": SEED_CASE})
    done = run(tmp_path / "out", tmp_path / "corpus")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["example_seeds"] == 1
    assert "1 seed structures from real kernels" in done.stderr


def test_a_corrupt_seed_is_one_line(tmp_path: Path) -> None:
    add_seeds(tmp_path / "corpus", {"broken": '{"format": "fuzzpass.case/1"}'})
    done = run(tmp_path / "out", tmp_path / "corpus")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"fuzzpass: error: --examples {tmp_path / 'corpus'}: seeds/broken.json: ")
