"""How a ``fuzzpass`` process ends: with its command's exit code, after Python's exit handlers
and with everything printed written; once JAX's native runtime is loaded, without the
interpreter's teardown (where libtpu's C++ threads can abort the process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

TORN_DOWN = """
class TornDown:
    def __del__(self):
        print("torn down", file=sys.stderr)
torn_down = TornDown()  # collected only by the interpreter's teardown
"""

SCRIPT = """
import atexit, sys
{imports}
atexit.register(lambda: print("exit handlers ran", file=sys.stderr))
print("written", end="")  # no newline: still in stdout's buffer at the end
from fuzzpass.backends.environment import exit_process
exit_process(3)
"""


@pytest.mark.parametrize("imports,torn_down", [("import jax", False), ("", True)], ids=["jax-loaded", "no-jax"])
def test_a_process_ends_with_its_code_its_output_and_its_exit_handlers(imports: str, torn_down: bool) -> None:
    script = TORN_DOWN + SCRIPT.format(imports=imports)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "written"
    assert "exit handlers ran" in done.stderr
    assert ("torn down" in done.stderr) is torn_down


def test_the_fuzzpass_command_ends_by_exit_process() -> None:
    script = TORN_DOWN + "import jax; sys.argv = ['fuzzpass', 'check', '/nonexistent.json']; import fuzzpass.__main__"
    done = subprocess.run([sys.executable, "-c", "import sys" + script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("fuzzpass: error: /nonexistent.json"), done.stderr
    assert "torn down" not in done.stderr


LIBTPU_THREADS = """
import os, sys
from fuzzpass.backends.environment import start_jax
start_jax({backend!r})

def name(thread):
    try:
        return open(f"/proc/self/task/{{thread}}/comm").read()
    except FileNotFoundError:  # the thread ended after it was listed (CI met it once)
        return ""

print(sum(name(t).startswith("pjrt-tpu") for t in os.listdir("/proc/self/task")))
"""


@pytest.mark.parametrize("backend,started", [("helion", False), ("interpret", True)])
def test_jax_starts_libtpu_only_for_a_backend_that_may_want_it(backend: str, started: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
    script = LIBTPU_THREADS.format(backend=backend)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert (int(done.stdout.split()[-1]) > 0) is started
