"""Choosing which proposed mitigations to do: a set-cover / knapsack problem.

Two questions, over the mitigations proposed for threats above the risk appetite:

* cover: the cheapest set (by expected effort, the middle of each person-day
  range) that brings every threat that *can* reach the appetite down to it;
* budget: within a person-day budget, the set that removes the most risk, where
  risk removed is the sum over threats of severity steps dropped times impact.

Small problems (at most `EXACT_LIMIT` candidate mitigations) are solved exactly by
branch and bound; larger ones greedily. For the cover, threats that share no
mitigation are solved group by group; the exact search works on bitmasks of a
group's candidates, remembers each threat's figure per subset of its own options,
and solves groups of one shape (the same controls on similar elements, common in
large systems) once. None of this changes which set is chosen.

* cover: repeatedly take the mitigation with the best ratio of progress to cost,
  then drop any chosen mitigation the plan still meets the appetite without;
  progress is the number of likelihood + impact steps a threat still lacks to
  reach the appetite, so two cheap partial controls can beat one expensive one.
  For the pure set-cover case (every threat needs any one of its mitigations)
  this is the classic greedy, within a factor H(n) <= ln(n) + 1 of the optimum.
* budget: take mitigations by risk removed per person-day while they fit, and
  keep the best single mitigation instead when it alone removes more (the usual
  guard that keeps greedy within a factor of two of the optimum for knapsacks
  with additive gains).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from threatline.engine import scoring
from threatline.engine.draft import collector_paused
from threatline.model.threatmodel import SEVERITY_ORDER, RiskFigure

EXACT_LIMIT = 20


# What the planner reads of a model: ThreatModel's Threat and Mitigation, or the light
# view 'threatline plan' loads (formats.threatmodel_yaml.PlanView).
class Figure(Protocol):
    @property
    def likelihood(self) -> int: ...
    @property
    def impact(self) -> int: ...
    @property
    def severity(self) -> str: ...


class PlannedThreat(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def current(self) -> Figure: ...


class Effort(Protocol):
    @property
    def effort_days(self) -> tuple[float, float]: ...
    @property
    def effort_mid(self) -> float: ...


class Effect(Protocol):
    @property
    def threat(self) -> str: ...
    @property
    def after(self) -> Figure: ...


class PlannedMitigation(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def cost(self) -> Effort | None: ...
    @property
    def outcomes(self) -> Sequence[Effect]: ...

_RANK = {severity: i for i, severity in enumerate(SEVERITY_ORDER)}


def rank(severity: str) -> int:
    return _RANK[severity]


@dataclass
class PlanThreat:
    id: str
    current: Figure
    options: dict[str, tuple[int, int]]  # mitigation id -> (likelihood steps, impact steps); fixed once built
    # The figure after each subset of this threat's own options, keyed by a bitmask over
    # `options` in order: the searches ask about the same few subsets millions of times.
    # It depends only on the current figure and the steps in order, so threats alike in
    # those share one (_problem).
    after_by_mask: dict[int, RiskFigure] = field(default_factory=dict, repr=False, compare=False)

    def after(self, chosen: Iterable[str]) -> RiskFigure:
        return self.after_mask(self._mask(chosen))

    def after_with(self, chosen: Iterable[str], mid: str) -> RiskFigure:
        """after(chosen | {mid}), without copying chosen."""
        return self.after_mask(self._mask(chosen) | self._bit(mid))

    def after_without(self, chosen: Iterable[str], mid: str) -> RiskFigure:
        """after(chosen - {mid}), without copying chosen."""
        return self.after_mask(self._mask(chosen) & ~self._bit(mid))

    def _mask(self, chosen: Iterable[str]) -> int:
        # Walk this threat's few options, not the (possibly huge) chosen set.
        chosen_set = chosen if isinstance(chosen, (set, frozenset, dict)) else set(chosen)
        mask, bit = 0, 1
        for mid in self.options:
            if mid in chosen_set:
                mask |= bit
            bit <<= 1
        return mask

    def _bit(self, mid: str) -> int:
        for k, option in enumerate(self.options):
            if option == mid:
                return 1 << k
        return 0

    def after_mask(self, mask: int) -> RiskFigure:
        """The figure with the options whose bits are set in mask (bit i: i-th option)."""
        found = self.after_by_mask.get(mask)
        if found is None:
            # mitigations.combine on both steps at once: the strongest counts in full,
            # any further control adds one step of depth.
            lk_strongest = lk_count = im_strongest = im_count = 0
            for i, (lk, im) in enumerate(self.options.values()):
                if mask >> i & 1:
                    if lk > 0:
                        lk_count += 1
                        lk_strongest = max(lk_strongest, lk)
                    if im > 0:
                        im_count += 1
                        im_strongest = max(im_strongest, im)
            found = self.after_by_mask[mask] = scoring.figure(
                self.current.likelihood - lk_strongest - (lk_count > 1),
                self.current.impact - im_strongest - (im_count > 1),
            )
        return found


@dataclass
class Plan:
    appetite: str
    budget_days: float | None
    method: str
    selected: list[str]
    effort_days: tuple[float, float]
    effort_expected: float
    risk_removed: int
    above_before: list[str]
    left_above: dict[str, str]  # threat id -> why
    after: dict[str, RiskFigure] = field(default_factory=dict)


def _problem(
    threats: Sequence[PlannedThreat], mitigations: Sequence[PlannedMitigation], appetite: str
) -> tuple[list[PlanThreat], dict[str, PlannedMitigation]]:
    by_id = {m.id: m for m in mitigations if m.status not in ("rejected",)}
    current = {t.id: t.current for t in threats}
    limit = _RANK[appetite]
    above = [t for t in threats if t.status not in ("rejected", "retired") and _RANK[t.current.severity] > limit]
    # Options are only gathered for threats above the appetite: in a large model most
    # outcomes concern the others.
    options_of: dict[str, dict[str, tuple[int, int]]] = {t.id: {} for t in above}
    for m in by_id.values():
        for o in m.outcomes:
            options = options_of.get(o.threat)
            if options is not None:
                now = current[o.threat]
                options[m.id] = (now.likelihood - o.after.likelihood, now.impact - o.after.impact)
    figures_alike: dict[tuple[int, int, tuple[tuple[int, int], ...]], dict[int, RiskFigure]] = {}
    problem = []
    for t in above:
        options = options_of[t.id]
        alike = (t.current.likelihood, t.current.impact, tuple(options.values()))
        problem.append(PlanThreat(t.id, t.current, options, figures_alike.setdefault(alike, {})))
    return problem, by_id


def cost(m: PlannedMitigation) -> float:
    return m.cost.effort_mid if m.cost else 1.0


def _weight(pt: PlanThreat, chosen: Iterable[str]) -> int:
    """Risk removed on one threat: severity steps dropped times current impact."""
    after = pt.after(chosen)
    return (rank(pt.current.severity) - rank(after.severity)) * pt.current.impact


def plan(
    threats: Sequence[PlannedThreat],
    mitigations: Sequence[PlannedMitigation],
    appetite: str = "medium",
    budget_days: float | None = None,
    method: str = "auto",
) -> Plan:
    if appetite not in SEVERITY_ORDER:
        raise ValueError(f"appetite must be one of {', '.join(SEVERITY_ORDER)}")
    with collector_paused():  # the planner's many small objects are no garbage to look for
        return _plan(threats, mitigations, appetite, budget_days, method)


def _plan(
    threats: Sequence[PlannedThreat],
    mitigations: Sequence[PlannedMitigation],
    appetite: str,
    budget_days: float | None,
    method: str,
) -> Plan:
    problem, by_id = _problem(threats, mitigations, appetite)
    cost_of = {mid: cost(by_id[mid]) for pt in problem for mid in pt.options}
    candidates = sorted(cost_of, key=lambda m: (cost_of[m], m))
    chosen: set[str] = set()
    if budget_days is None:
        # Threats that share no mitigation are independent: solve each group on its own,
        # exactly when it is small enough, which keeps large models fast and mostly exact.
        reachable = [pt for pt in problem if rank(pt.after(pt.options).severity) <= rank(appetite)]
        greedy_groups = 0
        solved: dict[object, int] = {}  # groups of the same shape have the same answer
        for group, group_candidates in _groups(reachable, candidates):
            use_exact = method == "exact" or (method == "auto" and len(group_candidates) <= EXACT_LIMIT)
            if use_exact:
                chosen |= _exact_cover(group, group_candidates, cost_of, appetite, solved)
            else:
                greedy_groups += 1
                chosen |= _greedy_cover(group, group_candidates, cost_of, appetite)
        used = "exact" if greedy_groups == 0 else f"greedy ({greedy_groups} group(s) over {EXACT_LIMIT} candidates)"
    else:
        use_exact = method == "exact" or (method == "auto" and len(candidates) <= EXACT_LIMIT)
        if use_exact:
            chosen = _exact_budget(problem, candidates, cost_of, budget_days)
        else:
            chosen = _greedy_budget(problem, candidates, cost_of, budget_days)
        used = "exact" if use_exact else "greedy"
    chosen = sorted(chosen)
    chosen_set = set(chosen)
    left: dict[str, str] = {}
    after: dict[str, RiskFigure] = {}
    risk_removed = 0
    for pt in problem:
        fig = pt.after(chosen_set)
        after[pt.id] = fig
        risk_removed += (_RANK[pt.current.severity] - _RANK[fig.severity]) * pt.current.impact  # _weight
        if rank(fig.severity) > rank(appetite):
            best = pt.after(pt.options)
            if not pt.options:
                left[pt.id] = "no catalogue control addresses it; needs a manual mitigation or risk acceptance"
            elif rank(best.severity) > rank(appetite):
                left[pt.id] = f"every proposed mitigation together only reaches {best.severity}"
            else:
                left[pt.id] = f"not within the budget of {budget_days:g} person-days" if budget_days is not None else "not selected"
    low = sum(by_id[m].cost.effort_days[0] if by_id[m].cost else 1.0 for m in chosen)
    high = sum(by_id[m].cost.effort_days[1] if by_id[m].cost else 1.0 for m in chosen)
    return Plan(
        appetite=appetite,
        budget_days=budget_days,
        method=used,
        selected=chosen,
        effort_days=(low, high),
        effort_expected=sum(cost(by_id[m]) for m in chosen),
        risk_removed=risk_removed,
        above_before=[pt.id for pt in problem],
        left_above=left,
        after=after,
    )


def _groups(problem: list[PlanThreat], candidates: list[str]) -> list[tuple[list[PlanThreat], list[str]]]:
    """Connected groups of threats linked by a shared mitigation (union-find), in the
    order of their first threat. Nodes are integers: threats first, then mitigations."""
    slot = {mid: len(problem) + k for k, mid in enumerate(candidates)}
    parent = list(range(len(problem) + len(candidates)))
    linked = [False] * len(parent)  # a mitigation some threat here names

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for j, pt in enumerate(problem):
        root = find(j)
        for mid in pt.options:
            node = slot.get(mid)
            if node is None:  # not a candidate: it still links threats
                node = slot[mid] = len(parent)
                parent.append(node)
                linked.append(False)
            linked[node] = True
            parent[find(node)] = root
    threats_by_root: dict[int, list[PlanThreat]] = {}
    for j, pt in enumerate(problem):
        threats_by_root.setdefault(find(j), []).append(pt)
    cands_by_root: dict[int, list[str]] = {}
    for k, mid in enumerate(candidates):  # keeps the cost order
        node = len(problem) + k
        if linked[node]:
            cands_by_root.setdefault(find(node), []).append(mid)
    return [(group, cands_by_root.get(root, [])) for root, group in threats_by_root.items()]


# ---------------------------------------------------------------- cover


def _meets(pt: PlanThreat, chosen: Iterable[str], appetite: str) -> bool:
    return rank(pt.after(chosen).severity) <= rank(appetite)


def _exact_cover(
    problem: list[PlanThreat],
    candidates: list[str],
    cost_of: dict[str, float],
    appetite: str,
    solved: dict[object, int] | None = None,
) -> set[str]:
    """Branch and bound over the candidates in cost order; the cheapest cover wins
    (the first found among equal costs). Sets of candidates are bitmasks (bit i:
    candidates[i]) so that each node costs a few integer operations per threat.

    solved: answers by the shape of a group, shared between the groups of one plan. The
    search depends only on the candidates' costs in order and, per threat, its current
    figure and the steps of each candidate, so groups of one shape (the same controls
    on similar elements, common in large systems) are searched once.
    """
    limit = _RANK[appetite]
    count = len(candidates)
    costs = [cost_of[c] for c in candidates]
    index = {mid: i for i, mid in enumerate(candidates)}
    shape: object = None
    if solved is not None:
        shape = (
            appetite,
            tuple(costs),
            tuple(sorted(
                (pt.current.likelihood, pt.current.impact,
                 tuple(sorted((index[mid], steps) for mid, steps in pt.options.items() if mid in index)))
                for pt in problem
            )),
        )
        known = solved.get(shape)
        if known is not None:
            return {mid for i, mid in enumerate(candidates) if known >> i & 1}
    # Per threat, the candidate bits of its options, and for each option its bit in
    # the threat's own option mask (PlanThreat.after_mask).
    translations: list[list[tuple[int, int]]] = []
    for pt in problem:
        translations.append([(1 << index[mid], 1 << k) for k, mid in enumerate(pt.options) if mid in index])
    threat_masks = [sum(g for g, _ in pairs) for pairs in translations]
    meets_by_mask: list[dict[int, bool]] = [{} for _ in problem]

    def meets(j: int, chosen: int) -> bool:
        key = chosen & threat_masks[j]
        found = meets_by_mask[j].get(key)
        if found is None:
            local = sum(own for candidate_bit, own in translations[j] if key & candidate_bit)
            found = meets_by_mask[j][key] = _RANK[problem[j].after_mask(local).severity] <= limit
        return found

    everyone = range(len(problem))
    relevant = [[j for j in everyone if threat_masks[j] >> i & 1] for i in range(count)]
    remaining_from = [0] * (count + 1)  # remaining_from[i]: the bits of candidates[i:]
    for i in range(count - 1, -1, -1):
        remaining_from[i] = remaining_from[i + 1] | 1 << i
    best_mask, best_spent = remaining_from[0], sum(costs)
    # Candidates come cheapest first, so a node that is not yet a cover can improve on
    # the best only if adding candidates[i] alone already costs less than it: a bound
    # that cuts subtrees the check on entry would reject anyway, so the result is the
    # same (it needs costs that are not negative).
    cheapest_first_bound = all(c >= 0 for c in costs) and costs == sorted(costs)

    def covers(chosen: int) -> bool:
        # meets() inlined over every threat: this runs at every node of the search.
        for j in everyone:
            found = meets_by_mask[j].get(chosen & threat_masks[j])
            if not (meets(j, chosen) if found is None else found):
                return False
        return True

    def search(i: int, chosen: int, spent: float, added: bool) -> None:
        # added: chosen gained candidates[i - 1] on the way here. If not, chosen is the
        # parent's, known not to cover; if so, what chosen and the rest can reach is the
        # parent's, known to be enough. Either check is skipped when its answer is known.
        nonlocal best_mask, best_spent
        if spent >= best_spent:
            return
        if added and covers(chosen):
            best_mask, best_spent = chosen, spent
            return
        if i == count or (cheapest_first_bound and spent + costs[i] >= best_spent):
            return
        # Prune: a threat that cannot meet the appetite even with every remaining candidate.
        if not added and not covers(chosen | remaining_from[i]):
            return
        if any(not meets(j, chosen) for j in relevant[i]):
            search(i + 1, chosen | 1 << i, spent + costs[i], True)
        search(i + 1, chosen, spent, False)

    # At the root the cover check is due; the reach check may be skipped as it only
    # prunes (meeting the appetite is monotone: a subset of a non-cover covers nothing).
    search(0, 0, 0.0, True)
    if solved is not None:
        solved[shape] = best_mask
    return {mid for i, mid in enumerate(candidates) if best_mask >> i & 1}


def _excess(pt: PlanThreat, chosen: Iterable[str], appetite: str) -> int:
    """Fewest likelihood + impact steps still needed to reach the appetite."""
    fig = pt.after(chosen)
    return _steps_to_appetite(fig.likelihood, fig.impact, appetite)


@cache  # 25 figures x 4 appetites at most
def _steps_to_appetite(likelihood: int, impact: int, appetite: str) -> int:
    limit = rank(appetite)
    return min(
        max(0, likelihood - lk) + max(0, impact - im)
        for lk in range(1, 6)
        for im in range(1, 6)
        if rank(scoring.severity(lk, im)) <= limit
    )


def _greedy_cover(problem: list[PlanThreat], candidates: list[str], cost_of: dict[str, float], appetite: str) -> set[str]:
    """Lazy greedy by progress per person-day, then reverse delete of what is not needed."""
    import heapq

    chosen: set[str] = set()
    limit = _RANK[appetite]
    by_mid: dict[str, list[PlanThreat]] = {}
    for pt in problem:
        for mid in pt.options:
            by_mid.setdefault(mid, []).append(pt)

    def progress(mid: str) -> tuple[int, int]:
        """(threats brought to the appetite, steps of excess removed) by adding mid."""
        met = steps = 0
        for pt in by_mid.get(mid, []):
            now = pt.after(chosen)
            if _RANK[now.severity] <= limit:
                continue
            then = pt.after_with(chosen, mid)
            met += _RANK[then.severity] <= limit
            steps += (_steps_to_appetite(now.likelihood, now.impact, appetite)
                      - _steps_to_appetite(then.likelihood, then.impact, appetite))
        return met, steps

    def key(mid: str) -> tuple[float, float]:
        met, steps = progress(mid)
        c = max(cost_of[mid], 0.01)
        return (-steps / c, -met / c)

    heap = [(key(m), m) for m in candidates]
    heapq.heapify(heap)
    still_open = {pt.id for pt in problem if not _meets(pt, chosen, appetite)}
    while heap and still_open:
        _, mid = heapq.heappop(heap)
        fresh = key(mid)
        if fresh >= (0.0, 0.0):
            continue  # no progress left from this mitigation
        if heap and fresh > heap[0][0]:
            heapq.heappush(heap, (fresh, mid))
            continue
        chosen.add(mid)
        still_open -= {pt.id for pt in by_mid.get(mid, []) if _meets(pt, chosen, appetite)}
    # Reverse delete: drop what the plan no longer needs, most expensive first.
    for mid in sorted(chosen, key=lambda m: (-cost_of[m], m)):
        if all(_RANK[pt.after_without(chosen, mid).severity] <= limit for pt in by_mid.get(mid, [])):
            chosen.discard(mid)
    return chosen


# ---------------------------------------------------------------- budget


def _exact_budget(problem: list[PlanThreat], candidates: list[str], cost_of: dict[str, float], budget: float) -> set[str]:
    best: list = [set(), 0]

    def value(chosen: set[str]) -> int:
        return sum(_weight(pt, chosen) for pt in problem)

    def search(i: int, chosen: set[str], spent: float) -> None:
        v = value(chosen)
        if v > best[1] or (v == best[1] and spent < sum(cost_of[m] for m in best[0])):
            best[0], best[1] = set(chosen), v
        if i == len(candidates):
            return
        # Bound: what every remaining affordable candidate could add at most.
        affordable = [m for m in candidates[i:] if spent + cost_of[m] <= budget]
        if value(chosen | set(affordable)) <= best[1]:
            return
        mid = candidates[i]
        if spent + cost_of[mid] <= budget:
            chosen.add(mid)
            search(i + 1, chosen, spent + cost_of[mid])
            chosen.discard(mid)
        search(i + 1, chosen, spent)

    search(0, set(), 0.0)
    return best[0]


def _greedy_budget(problem: list[PlanThreat], candidates: list[str], cost_of: dict[str, float], budget: float) -> set[str]:
    """Lazy greedy by risk removed per person-day (gains are re-checked when popped)."""
    import heapq

    # Per threat, the bits (PlanThreat.after_mask) of its options chosen so far, kept
    # up to date as mitigations are taken, and per mitigation (threat, its bit there).
    masks = [0] * len(problem)
    by_mid: dict[str, list[tuple[int, PlanThreat, int]]] = {}
    for j, pt in enumerate(problem):
        for k, mid in enumerate(pt.options):
            by_mid.setdefault(mid, []).append((j, pt, 1 << k))
    chosen: set[str] = set()

    def gain(mid: str) -> float:
        total = 0.0
        for j, pt, bit in by_mid.get(mid, []):
            before, after = pt.after_mask(masks[j]), pt.after_mask(masks[j] | bit)
            total += (_RANK[before.severity] - _RANK[after.severity]) * pt.current.impact
            # Score steps that drop no severity yet may enable a later drop: count them lightly.
            total += 0.01 * ((before.likelihood + before.impact) - (after.likelihood + after.impact))
        return total

    def alone(mid: str) -> int:
        """Risk removed by mid on its own (_weight with {mid} over its threats)."""
        return sum(
            (_RANK[pt.current.severity] - _RANK[pt.after_mask(bit).severity]) * pt.current.impact
            for _, pt, bit in by_mid.get(mid, [])
        )

    heap = [(-gain(m) / max(cost_of[m], 0.01), m) for m in candidates]
    heapq.heapify(heap)
    spent = 0.0
    while heap:
        _, mid = heapq.heappop(heap)
        c = cost_of[mid]
        if spent + c > budget:
            continue
        fresh = -gain(mid) / max(c, 0.01)
        if fresh >= 0:
            continue
        if heap and fresh > heap[0][0]:
            heapq.heappush(heap, (fresh, mid))
            continue
        chosen.add(mid)
        for j, _, bit in by_mid[mid]:
            masks[j] |= bit
        spent += c
    single = max((m for m in candidates if cost_of[m] <= budget), key=alone, default=None)
    if single is not None and sum(_weight(pt, {single}) for pt in problem) > sum(_weight(pt, chosen) for pt in problem):
        return {single}
    return chosen
