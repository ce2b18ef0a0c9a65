"""Aggregating peer rankings: Borda scores, how much the reviewers agreed, and the
answer and confidence a review gives when there is no arbiter (docs/review.md,
docs/confidence.md).

Pure arithmetic on member indices, so the rules are testable on their own:

- **Identical answers are tied.** The vote's grouping says which answers say the
  same thing (`group_of`); a ballot is read as a ranking of those groups, each placed
  where its best-placed answer is, so a reviewer that ranks three copies of "12" 1st,
  2nd and 3rd has ranked one answer, not three. A ballot left with fewer than two
  groups says nothing about which is better and is not counted.
- **Borda score.** On a ballot of k groups, the group in place p (0 = best) scores
  (k - 1 - p) / (k - 1): 1 for first, 0 for last. An answer's score is its group's
  mean over the ballots that ranked it. Reviewers never rank their own answer (the
  ballots are built without it), so self-preference cannot count.
- **Backers and the winner.** A member backs the group of its own answer, and the
  group its counted ballot puts first. The group with the most backers wins (ties:
  more members gave it, then the higher score, then the member listed first).
- **Confidence without an arbiter:** the winner's backers over the configured panel.
  A member that failed or was never asked backs nothing, so it never raises it; the
  members that gave the winning answer always back it, so it is never below the
  plain vote's confidence for the same answer; more agreement always raises it.
- **Agreement.** Kendall's W of the group rankings. Ballots that exclude the
  reviewer's own answer are not complete rankings of the same items, so W is
  computed through its identity with the mean pairwise Spearman correlation,
  W = ((m - 1) * mean_rho + 1) / m for m ballots, each pair compared on the groups
  both ranked (pairs sharing fewer than two are skipped). Clamped to 0..1; None with
  fewer than two comparable ballots. Shown to the arbiter and in the trace.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ballot:
    """One reviewer's ranking: member indices best first, and a reason for each."""

    reviewer: int
    order: tuple[int, ...]
    reasons: dict[int, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Standing:
    """An answer's place in the aggregate ranking (score and mean place None when no
    counted ballot ranked it)."""

    member: int
    score: float | None  # mean Borda score of its group, 0..1 (1: first on every ballot that ranked it)
    mean_rank: float | None  # mean place of its group, 1 = best
    firsts: int
    ballots: int
    last_everywhere: bool  # ranked last on every ballot (at least two) that ranked it
    backers: int = 0  # members backing its group: those that gave it, and ballots putting it first


def _groups(ballot: Ballot, group_of: Mapping[int, int]) -> list[int]:
    """The ballot as a ranking of groups, each where its best-placed answer is."""
    return list(dict.fromkeys(group_of[m] for m in ballot.order))


def _score(place: int, size: int) -> float:
    return (size - 1 - place) / (size - 1)


def standings(
    ballots: Sequence[Ballot], members: Sequence[int], group_of: Mapping[int, int] | None = None
) -> list[Standing]:
    """The aggregate ranking of `members`: the winning group's answers first (see the
    module docstring), those no ballot ranked last."""
    group_of = dict(group_of) if group_of is not None else {m: m for m in members}
    for ballot in ballots:
        for m in (ballot.reviewer, *ballot.order):
            group_of.setdefault(m, -1 - m)  # an answer the grouping did not see is its own group
    counted = [(b, ranked) for b in ballots if len(ranked := _groups(b, group_of)) >= 2]
    backers: dict[int, set[int]] = {}
    for m in members:
        backers.setdefault(group_of[m], set()).add(m)
    for ballot, ranked in counted:
        backers.setdefault(ranked[0], set()).add(ballot.reviewer)
    table = []
    for member in members:
        group = group_of[member]
        places = [(ranked.index(group), len(ranked)) for _, ranked in counted if group in ranked]
        scores = [_score(p, k) for p, k in places]
        table.append(
            Standing(
                member=member,
                score=sum(scores) / len(scores) if scores else None,
                mean_rank=sum(p + 1 for p, _ in places) / len(places) if places else None,
                firsts=sum(1 for p, _ in places if p == 0),
                ballots=len(places),
                last_everywhere=len(places) >= 2 and all(p == k - 1 for p, k in places),
                backers=len(backers.get(group, ())),
            )
        )
    position = {m: i for i, m in enumerate(members)}
    gave = {g: sum(1 for m in members if group_of[m] == g) for g in backers}
    return sorted(
        table,
        key=lambda s: (
            -s.backers, -gave[group_of[s.member]], s.score is None, -(s.score or 0.0), -s.firsts, position[s.member]
        ),
    )


def _spearman(a: Sequence[int], b: Sequence[int]) -> float | None:
    common = [m for m in a if m in b]
    n = len(common)
    if n < 2:
        return None
    rank_a = {m: i for i, m in enumerate(x for x in a if x in common)}
    rank_b = {m: i for i, m in enumerate(x for x in b if x in common)}
    d2 = sum((rank_a[m] - rank_b[m]) ** 2 for m in common)
    return 1 - 6 * d2 / (n * (n * n - 1))


def agreement(ballots: Sequence[Ballot], group_of: Mapping[int, int] | None = None) -> float | None:
    """Kendall's W over the ballots' group rankings (see the module docstring), or None."""
    orders = [_groups(b, group_of) if group_of is not None else list(b.order) for b in ballots]
    rhos = []
    used: set[int] = set()
    for i, j in itertools.combinations(range(len(orders)), 2):
        rho = _spearman(orders[i], orders[j])
        if rho is not None:
            rhos.append(rho)
            used.update((i, j))
    if not rhos:
        return None
    m = len(used)
    w = ((m - 1) * (sum(rhos) / len(rhos)) + 1) / m
    return min(1.0, max(0.0, w))


def confidence(table: Sequence[Standing], panel: int) -> float:
    """How sure a review alone makes its winner: the winning group's backers over the
    configured panel (see the module docstring)."""
    return min(1.0, table[0].backers / max(panel, 1))


@dataclass(frozen=True)
class PeerRanking:
    """A round's aggregate ranking: standings best first (the winner first), the
    reviewers' agreement (Kendall's W, None when unknown), the ballots it came from,
    and the configured panel its confidence is a share of."""

    table: list[Standing]
    agreement: float | None
    ballots: list[Ballot]
    panel: int = 0

    @property
    def confidence(self) -> float:
        return confidence(self.table, self.panel or len(self.table))


def rank(
    ballots: Sequence[Ballot],
    members: Sequence[int],
    group_of: Mapping[int, int] | None = None,
    panel: int | None = None,
) -> PeerRanking:
    """Tally `ballots` over the `members` that answered, whose answers `group_of` puts
    in groups of like answers (None: every answer its own), for a panel of `panel`
    configured members (None: those that answered)."""
    full = dict(group_of) if group_of is not None else {m: m for m in members}
    return PeerRanking(
        standings(ballots, members, full), agreement(ballots, full), list(ballots), panel or len(members)
    )
