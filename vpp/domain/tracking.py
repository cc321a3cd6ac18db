"""How well a plant tracked its target: the band, the samples, the figures, the rule.

The rule is modelled on balancing-reserve prequalification (aFRR/FCR in the European
network codes): the plant receives a setpoint every 4 s and is judged on its measured
power sampled at the same rate.  After an *activation allowance* from the start of an
interval (30 s by default, the FCR full-activation time; aFRR allows up to 5 min), each
sample is *within the band* when ``|measured − reference| <= band``, with

    band = max(5 % of |reference|, 2 % of the plant's power range)

The *reference* is the interval's target clamped to what the plant was stated to be able
to reach (a shortfall stated at acceptance or during the interval is never counted twice:
the energy verdict already holds it against the plant).

Per interval the figures are the share of samples within the band (after activation), the
RMS and worst error over every sample, and the time from the interval's start to the
first sample within the band.  A dispatch is ``completed`` when every interval delivered
its energy (see the dispatcher) *and* held the band for at least ``min_share`` of its
samples after activation; an interval shorter than the allowance is judged on energy only.

Figures are kept as running sums (:class:`TrackingTally`), so they are persisted and
continued across a dispatcher restart without keeping the samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from vpp.domain.units import require_finite


@dataclass(frozen=True, slots=True)
class TrackingRule:
    band_fraction: float = 0.05  # of |reference|
    band_range_fraction: float = 0.02  # of the plant's power range
    activation_s: float = 30.0  # samples before this (from the interval start) are not judged
    min_share: float = 0.9  # completed: at least this share within the band after activation

    def band_w(self, reference_w: float, range_w: float) -> float:
        """Half-width of the tolerance band around ``reference_w`` (at least 1 W)."""
        return max(1.0, self.band_fraction * abs(reference_w), self.band_range_fraction * range_w)


DEFAULT_RULE = TrackingRule()


@dataclass(frozen=True, slots=True)
class TrackingTally:
    """Running tracking figures of one interval (every field a plain number: persisted)."""

    samples: int = 0  # every sample of the interval
    sq_error_sum: float = 0.0  # Σ (measured − reference)², W²
    worst_w: float = 0.0  # largest |measured − reference|
    judged: int = 0  # samples after the activation allowance
    within: int = 0  # … of which within the band
    judged_error_sum: float = 0.0  # Σ (measured − reference) over the judged samples, W
    first_in_band_s: float | None = None  # from the interval's start

    def add(
        self, since_start_s: float, error_w: float, band_w: float, rule: TrackingRule
    ) -> TrackingTally:
        """The tally with one more sample: ``error_w`` = measured − reference."""
        require_finite(error_w, "tracking error")
        inside = abs(error_w) <= band_w
        judged = since_start_s >= rule.activation_s
        return replace(
            self,
            samples=self.samples + 1,
            sq_error_sum=self.sq_error_sum + error_w * error_w,
            worst_w=max(self.worst_w, abs(error_w)),
            judged=self.judged + judged,
            judged_error_sum=self.judged_error_sum + (error_w if judged else 0.0),
            within=self.within + (judged and inside),
            first_in_band_s=(
                since_start_s if self.first_in_band_s is None and inside else self.first_in_band_s
            ),
        )

    @property
    def share_within(self) -> float | None:
        """Share of the judged samples within the band; ``None`` before any was judged."""
        return self.within / self.judged if self.judged else None

    @property
    def mean_judged_error_w(self) -> float | None:
        """Mean signed error after the activation allowance (``None``: nothing judged)."""
        return self.judged_error_sum / self.judged if self.judged else None

    @property
    def rms_w(self) -> float | None:
        return math.sqrt(self.sq_error_sum / self.samples) if self.samples else None

    def held(self, rule: TrackingRule) -> bool:
        """Whether the interval held the band (vacuously true when nothing was judged)."""
        share = self.share_within
        return share is None or share >= rule.min_share
