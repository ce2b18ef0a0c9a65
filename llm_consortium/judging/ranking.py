"""Aggregating peer rankings: Borda scores, how much the reviewers agreed, and the
confidence a ranking gives when there is no arbiter.

Pure arithmetic on member indices, so the rules are testable on their own:

- **Borda score.** On a ballot of k answers, the answer in place p (0 = best) scores
  (k - 1 - p) / (k - 1): 1 for first, 0 for last, whatever the ballot's size. An
  answer's score is the mean over the ballots that ranked it. Reviewers never rank
  their own answer (the ballots are built without it), so self-preference cannot count.
- **Order.** Highest score first (an answer no ballot ranked comes last); ties go to
  the answer placed first on more ballots,
  then to the member listed first in the consortium. Deterministic: the same ballots
  always give the same order.
- **Agreement.** Kendall's W. Ballots that exclude the reviewer's own answer are not
  complete rankings of the same items, so W is computed through its identity with the
  mean pairwise Spearman correlation, W = ((m - 1) * mean_rho + 1) / m for m ballots,
  each pair compared on the answers both ranked (re-ranked within them; pairs sharing
  fewer than two answers are skipped). For complete rankings this is exactly Kendall's
  W. Clamped to 0..1; None with fewer than two comparable ballots.
- **Confidence without an arbiter:** (0.5 + 0.5 * margin) * (0.5 + 0.5 * W), where
  margin is the winner's score minus the runner-up's (1 when it is alone) and W the
  agreement (0 when unknown). Unanimous, clear rankings give 1; a tie between the top
  two gives at most 0.5; reviewers who disagree halve it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ballot:
    """One reviewer's ranking: member indices best first, and a reason for each."""

    reviewer: int
    order: tuple[int, ...]
    reasons: dict[int, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Standing:
    """An answer's place in the aggregate ranking."""

    member: int
    score: float  # mean Borda score, 0..1 (1: first on every ballot that ranked it)
    mean_rank: float  # mean place, 1 = best
    firsts: int
    ballots: int
    last_everywhere: bool  # ranked last on every ballot (at least two) that ranked it


def _score(place: int, size: int) -> float:
    return (size - 1 - place) / (size - 1) if size > 1 else 1.0


def standings(ballots: Sequence[Ballot], members: Sequence[int]) -> list[Standing]:
    """The aggregate ranking of `members` (those no ballot ranked come last, score 0)."""
    scores: dict[int, list[float]] = {m: [] for m in members}
    places: dict[int, list[int]] = {m: [] for m in members}
    for ballot in ballots:
        for place, member in enumerate(ballot.order):
            if member in scores:
                scores[member].append(_score(place, len(ballot.order)))
                places[member].append(place)
    table = []
    for member in members:
        got, at = scores[member], places[member]
        sizes = [len(b.order) for b in ballots if member in b.order]
        table.append(
            Standing(
                member=member,
                score=sum(got) / len(got) if got else 0.0,
                mean_rank=sum(p + 1 for p in at) / len(at) if at else float(len(members)),
                firsts=sum(1 for p in at if p == 0),
                ballots=len(got),
                last_everywhere=len(at) >= 2 and all(p == s - 1 for p, s in zip(at, sizes, strict=True)),
            )
        )
    position = {m: i for i, m in enumerate(members)}
    return sorted(table, key=lambda s: (s.ballots == 0, -s.score, -s.firsts, position[s.member]))


def _spearman(a: Sequence[int], b: Sequence[int]) -> float | None:
    common = [m for m in a if m in b]
    n = len(common)
    if n < 2:
        return None
    rank_a = {m: i for i, m in enumerate(x for x in a if x in common)}
    rank_b = {m: i for i, m in enumerate(x for x in b if x in common)}
    d2 = sum((rank_a[m] - rank_b[m]) ** 2 for m in common)
    return 1 - 6 * d2 / (n * (n * n - 1))


def agreement(ballots: Sequence[Ballot]) -> float | None:
    """Kendall's W over the ballots (see the module docstring), or None."""
    rhos = []
    used: set[int] = set()
    for i, j in itertools.combinations(range(len(ballots)), 2):
        rho = _spearman(ballots[i].order, ballots[j].order)
        if rho is not None:
            rhos.append(rho)
            used.update((i, j))
    if not rhos:
        return None
    m = len(used)
    w = ((m - 1) * (sum(rhos) / len(rhos)) + 1) / m
    return min(1.0, max(0.0, w))


def confidence(table: Sequence[Standing], w: float | None) -> float:
    """How sure a ranking alone makes its winner (see the module docstring)."""
    margin = table[0].score - table[1].score if len(table) > 1 else 1.0
    return (0.5 + 0.5 * margin) * (0.5 + 0.5 * (w or 0.0))


@dataclass(frozen=True)
class PeerRanking:
    """A round's aggregate ranking: standings best first and the reviewers' agreement
    (Kendall's W, None when unknown), with the ballots it came from."""

    table: list[Standing]
    agreement: float | None
    ballots: list[Ballot]

    @property
    def confidence(self) -> float:
        return confidence(self.table, self.agreement)


def rank(ballots: Sequence[Ballot], members: Sequence[int]) -> PeerRanking:
    return PeerRanking(standings(ballots, members), agreement(ballots), list(ballots))
