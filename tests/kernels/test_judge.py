"""One real kernel judged in this process: a pass that defers a mask and then drops the mask
that discharged it is caught as ``helion-mismatch`` against the file's own reference, while the
real pass on the same kernel passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fuzzpass.backends import helion as helion_backend
from fuzzpass.kernels import collect
from fuzzpass.kernels.judge import judge_call
from fuzzpass.kernels.record import Call, Recorder

CORPUS = Path(__file__).parent / "corpus"


def recorded(file: str, kernel: str) -> Call:
    """The first call ``kernel`` gets from the entries of ``corpus/file``."""
    module = collect.load(CORPUS / file)
    recorder = Recorder()
    for entry in collect.entries(module):
        collect.run_entry(entry, recorder)
    (calls,) = [c for c in recorder.calls.values() if c[0].kernel.fn.__name__ == kernel]
    return calls[0]


@pytest.fixture
def remask_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helion's pass, then every ``_mask_to`` fed (through permutes) by a load it deferred is
    removed: the deferred mask is never applied again (the ``drop-remask`` bug, in Helion)."""
    import helion._compiler.device_ir as device_ir

    helion_backend.install_probe()
    probed = device_ir.defer_pallas_load_masks

    def broken(graph: Any) -> None:
        probed(graph)
        for node in list(graph.nodes):
            if getattr(node.target, "__name__", "") != "_mask_to":
                continue
            source = node.args[0]
            while str(getattr(source, "target", "")) == "aten.permute.default":
                source = source.args[0]
            if source.meta.get("pallas_deferred_mask_block_ids"):
                node.replace_all_uses_with(node.args[0])
                graph.erase_node(node)

    monkeypatch.setattr(device_ir, "defer_pallas_load_masks", broken)


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
