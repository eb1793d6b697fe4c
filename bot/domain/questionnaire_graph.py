"""The questionnaire as a graph: what can be reached, cycles, answers given on every path, score maxima.

``graph_issues(q)`` is the graph part of the checks (``bot.domain.questionnaire_checks.validate`` runs it):
unknown ``next`` targets and route conditions, dead ends, unreachable nodes, cycles, scores a path can push
over their maximum, and a questionnaire without an end. The analyses (``reachable``, ``find_cycles``,
``guaranteed_answers``, ``max_scores``) are also used by the template checks and by tests.

Plain Python, like the model it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.domain.questionnaire import Issue, NodeKind, Questionnaire, Route, routes_of, successors


def reachable(q: Questionnaire) -> set[str]:
    """Ids of nodes reachable from the start node."""
    if not q.has_node(q.start):
        return set()
    seen = {q.start}
    stack = [q.start]
    while stack:
        for nxt in successors(q.node(stack.pop())):
            if q.has_node(nxt) and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def find_cycles(q: Questionnaire) -> list[list[str]]:
    """Each cycle found by a depth-first search, as a list of node ids (first id repeated at the end)."""
    white, grey, black = 0, 1, 2
    color = {n.id: white for n in q.nodes}
    cycles: list[list[str]] = []
    path: list[str] = []

    def visit(nid: str) -> None:
        color[nid] = grey
        path.append(nid)
        for nxt in successors(q.node(nid)):
            if nxt not in color:
                continue
            if color[nxt] == grey:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif color[nxt] == white:
                visit(nxt)
        path.pop()
        color[nid] = black

    for n in q.nodes:
        if color[n.id] == white:
            visit(n.id)
    return cycles


def guaranteed_answers(q: Questionnaire) -> dict[str, frozenset[str]]:
    """For each reachable node, the questions answered on every path from the start to it.

    Piping ``answers.<id>`` into a node's text is only safe for ids in this set.
    """
    everything = frozenset(n.id for n in q.nodes if n.kind.is_question)
    preds: dict[str, list[str]] = {n.id: [] for n in q.nodes}
    for n in q.nodes:
        for nxt in successors(n):
            if nxt in preds:
                preds[nxt].append(n.id)
    live = reachable(q)
    result: dict[str, frozenset[str]] = {nid: everything for nid in live}
    if q.start in result:
        result[q.start] = frozenset()
    changed = True
    while changed:  # a forward must-analysis; converges because sets only shrink
        changed = False
        for n in q.nodes:
            if n.id not in live or n.id == q.start:
                continue
            sets = [result[p] | ({p} if q.node(p).kind.is_question else set()) for p in preds[n.id] if p in live]
            new = frozenset.intersection(*sets) if sets else frozenset()
            if new != result[n.id]:
                result[n.id] = new
                changed = True
    return result


def max_scores(q: Questionnaire) -> dict[str, int]:
    """The most points of each score any path from the start can collect (cycles are ignored)."""
    names = {s.name for s in q.scores} | {name for n in q.nodes for o in n.options for name, _ in o.score}
    memo: dict[tuple[str, str], int] = {}

    def best(nid: str, name: str, on_path: frozenset[str]) -> int:
        if not q.has_node(nid) or nid in on_path:
            return 0
        key = (nid, name)
        if key in memo:
            return memo[key]
        node = q.node(nid)
        here = on_path | {nid}
        if node.kind is NodeKind.MULTI:
            gains = sorted((p for o in node.options for s, p in o.score if s == name and p > 0), reverse=True)
            gain = sum(gains[: node.max_choices or len(gains)])
            value = gain + max((best(r.goto, name, here) for r in node.next), default=0)
        else:
            value = 0
            for option, routes in routes_of(node):
                gain = sum(p for s, p in option.score if s == name) if option else 0
                value = max(value, gain + max((best(r.goto, name, here) for r in routes), default=0))
        memo[key] = value
        return value

    return {name: best(q.start, name, frozenset()) for name in sorted(names)}


def graph_issues(q: Questionnaire) -> list[Issue]:
    """Every way the graph can fail a survey: bad targets and conditions, dead ends, unreachable nodes, cycles,
    scores over their maximum, no end node. Unsorted; ``validate`` sorts."""
    issues: list[Issue] = []

    def err(line: int, message: str) -> None:
        issues.append(Issue(q.source, line, message))

    for n in q.nodes:
        where = f"node {n.id}"
        for option, routes in routes_of(n):
            owner = f"{where}, option {option.code}" if option else where
            _check_routes(q, routes, owner, err)
            if not routes and n.kind is not NodeKind.END:
                line = option.line if option else n.line
                err(line, f"{owner}: dead end, no 'next' (a non-end node needs a way on)")
    live = reachable(q)
    for n in q.nodes:
        if n.id not in live and q.has_node(q.start):
            err(n.line, f"node {n.id}: unreachable from the start node {q.start!r}")
    cycles = find_cycles(q)
    for cycle in cycles:
        err(
            q.node(cycle[0]).line,
            f"cycle: {' -> '.join(cycle)} (a questionnaire must always move towards an end)",
        )
    if not cycles:
        for name, most in max_scores(q).items():
            declared = q.score_max(name)
            if declared is not None and most > declared:
                err(1, f"score {name!r}: a path can collect {most} points, more than its max {declared}")
    if not any(n.kind is NodeKind.END for n in q.nodes):
        err(1, "questionnaire has no end node")
    return issues


def _check_routes(q: Questionnaire, routes: Iterable[Route], owner: str, err: Callable[[int, str], None]) -> None:
    routes = tuple(routes)
    for r in routes:
        if not q.has_node(r.goto):
            err(r.line, f"{owner}: next target {r.goto!r} does not exist")
        for qid, codes in r.when:
            if not q.has_node(qid) or not q.node(qid).kind.is_question:
                err(r.line, f"{owner}: route condition refers to unknown question {qid!r}")
                continue
            known = {o.code for o in q.node(qid).options}
            for c in codes:
                if c not in known:
                    err(r.line, f"{owner}: route condition refers to unknown code {c!r} of {qid!r}")
    if routes and routes[-1].when:
        err(routes[-1].line, f"{owner}: the last route must have no 'if' so that some route always applies")
