"""One real kernel judged in this process: a pass that defers a mask and then drops the mask
that discharged it is caught as ``helion-mismatch`` against the file's own reference, while the
real pass on the same kernel passes."""

from __future__ import annotations

from pathlib import Path

from fuzzpass.kernels import collect
from fuzzpass.kernels.judge import judge_call
from fuzzpass.kernels.record import Call, Recorder

CORPUS = Path(__file__).parent / "corpus"


def recorded(file: str, kernel: str) -> Call:
    """The first call ``kernel`` gets from the entries of ``corpus/file``."""
    module, _ = collect.load(CORPUS / file)
    recorder = Recorder()
    for entry in collect.entries(module):
        collect.run_entry(entry, recorder)
    (calls,) = [c for c in recorder.calls.values() if c[0].kernel.fn.__name__ == kernel]
    return calls[0]


def test_a_dropped_remask_is_a_helion_mismatch(remask_dropped: None) -> None:
    call = recorded("head_sum.py", "jagged_head_sum")
    assert call.reference is not None and call.tolerance == {"rtol": 1e-4, "atol": 1e-4}
    judged, _ = judge_call(call, "head_sum.py", "jagged_head_sum", (), None)
    assert judged.fired
    (finding,) = judged.findings
    assert (finding.kind.value, finding.variant) == ("helion-mismatch", "helion-on")
    assert "pass on disagrees with the file's reference, pass off agrees" in finding.message
    assert judged.numerics["off vs reference"] == "agree"
    # under poison the eager kernel leaks too (NaN * 0), so poison alone blames nobody here
    assert "non-finite" in judged.numerics["on poisoned vs clean"]
    assert "non-finite" in judged.numerics["off poisoned vs clean"]


def test_the_real_pass_on_the_same_kernel_passes() -> None:
    call = recorded("head_sum.py", "jagged_head_sum")
    judged, structure = judge_call(call, "head_sum.py", "jagged_head_sum", (), None)
    assert judged.fired and judged.findings == [] and judged.verdict == "pass"
    assert structure["blocks"][1] == 16  # the hl.tile's block id and its size in the call's config
