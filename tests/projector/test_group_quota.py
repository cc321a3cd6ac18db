"""How a projector group shares ``P`` partitions: each member's quota, in sum ``P``, never
more than one apart, the same answer in every member."""

from __future__ import annotations

import pytest

from vpp.application.projector_group import partition_key, quota


@pytest.mark.parametrize("partitions", [1, 2, 8, 16, 32])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9, 40])
def test_quotas_sum_to_the_partitions_and_differ_by_one_at_most(partitions: int, n: int) -> None:
    members = frozenset(f"projector-{i}" for i in range(n))
    shares = [quota(m, members, partitions) for m in members]
    assert sum(shares) == partitions
    assert max(shares) - min(shares) <= 1


def test_a_process_outside_the_members_holds_nothing() -> None:
    assert quota("projector-9", frozenset({"projector-1"}), 8) == 0


def test_one_partition_keeps_the_names_of_an_unpartitioned_projector() -> None:
    assert partition_key(0, 1) == "telemetry"  # its position and its proj-telemetry consumer
    assert [partition_key(p, 4) for p in range(4)] == [f"telemetry-p{p}" for p in range(4)]
