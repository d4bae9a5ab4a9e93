"""What poison is allowed to reach, element by element, and how a file's reference is matched
with the call whose result it checks."""

from __future__ import annotations

import torch

from fuzzpass.kernels.numerics import difference, poison_reached
from fuzzpass.kernels.record import same_values

NAN = float("nan")


def test_only_what_poison_reached_in_the_pass_on_result_alone_counts() -> None:
    clean = {"off": torch.tensor([1.0, 2.0, 3.0, 4.0]), "on": torch.tensor([1.0, 2.0, 3.0, 9.0])}
    poisoned = {"off": torch.tensor([NAN, 2.0, 3.0, 0.0]), "on": torch.tensor([NAN, 2.5, 3.0, 0.0])}
    hits = poison_reached(clean, poisoned, 1e-6, 1e-6)
    assert (hits["off"].nonfinite, hits["off"].beyond) == (1, 0)  # the eager kernel's own leak
    assert (hits["on"].nonfinite, hits["on"].beyond) == (1, 1)
    # element 0 leaked in both (the baseline's hazard), element 3 is not defined (the clean runs
    # differ there: memory a kernel never wrote); element 1 is the pass's alone
    assert (hits["only on"].nonfinite, hits["only on"].beyond) == (0, 1)
    assert "output 0[1]: 2.0 without poison, 2.5 with" in hits["only on"].worst


def test_no_poison_reached_agrees() -> None:
    clean = {"off": torch.ones(3), "on": torch.ones(3)}
    assert poison_reached(clean, dict(clean), 1e-6, 1e-6)["only on"].agrees


def test_difference_counts_beyond_tolerance_and_nonfinite() -> None:
    d = difference(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.5, NAN]), 1e-3, 1e-3)
    assert (d.beyond, d.nonfinite) == (1, 1) and not d.agrees
    assert difference((torch.ones(2),), (torch.ones(3),), 0, 0).worst == "output 0: shape (3,), expected (2,)"


def test_a_reference_is_matched_by_value_through_a_cast() -> None:
    result = torch.tensor([1.0, 2.0], dtype=torch.bfloat16)
    assert same_values(result, result.to(torch.float32))  # run_example compares r.to(float32)
    assert same_values((result, torch.zeros(1)), result)  # the first of several outputs
    assert not same_values(result, torch.tensor([1.0, 3.0]))
    assert not same_values(result, torch.ones(3))
