"""The graph checks on plain model objects, no file: the domain answers them without YAML or pydantic."""

from __future__ import annotations

from bot.domain.questionnaire import Node, NodeKind, Option, Questionnaire, Route, ScoreDef
from bot.domain.questionnaire_checks import validate
from bot.domain.questionnaire_graph import find_cycles, graph_issues, guaranteed_answers, max_scores, reachable


def _go(target: str, line: int = 0) -> tuple[Route, ...]:
    return (Route(target, (), line),)


def _q(*nodes: Node, scores: tuple[ScoreDef, ...] = ()) -> Questionnaire:
    return Questionnaire(id="g", version=1, title="图", start=nodes[0].id, nodes=nodes, scores=scores, source="g")


def _single(nid: str, *options: Option, line: int = 0) -> Node:
    return Node(nid, NodeKind.SINGLE, "问", options=options, line=line)


def _option(code: str, target: str | None, points: int = 0, line: int = 0) -> Option:
    score = (("loyalty", points),) if points else ()
    return Option(code, code, next=_go(target) if target else (), score=score, line=line)


END = Node("end", NodeKind.END, "谢谢", outcome="complete", line=99)


def test_a_question_answered_on_only_one_branch_is_not_guaranteed_where_the_branches_meet() -> None:
    q = _q(
        _single("q1", _option("a", "q2"), _option("b", "join")),
        _single("q2", _option("x", "join")),
        Node("join", NodeKind.MESSAGE, "好", next=_go("end")),
        END,
    )
    guaranteed = guaranteed_answers(q)
    assert guaranteed["join"] == frozenset({"q1"})
    assert guaranteed["end"] == frozenset({"q1"})
    assert validate(q) == []


def test_an_option_with_no_way_on_is_a_dead_end_at_its_line() -> None:
    q = _q(_single("q1", _option("a", "end"), _option("b", None, line=7), line=5), END)
    assert [str(i) for i in graph_issues(q)] == [
        "g:7: node q1, option b: dead end, no 'next' (a non-end node needs a way on)"
    ]


def test_a_loop_is_a_cycle_and_a_node_nobody_leads_to_is_unreachable() -> None:
    q = _q(
        _single("q1", _option("a", "q2"), line=3),
        _single("q2", _option("back", "q1"), _option("on", "end")),
        Node("orphan", NodeKind.MESSAGE, "孤", next=_go("end"), line=40),
        END,
    )
    assert find_cycles(q) == [["q1", "q2", "q1"]]
    assert reachable(q) == {"q1", "q2", "end"}
    assert sorted(str(i) for i in graph_issues(q)) == [
        "g:3: cycle: q1 -> q2 -> q1 (a questionnaire must always move towards an end)",
        "g:40: node orphan: unreachable from the start node 'q1'",
    ]


def test_the_most_points_a_path_can_collect_is_checked_against_the_declared_maximum() -> None:
    q = _q(
        _single("q1", _option("a", "q2", points=2), _option("b", "q2", points=1)),
        _single("q2", _option("c", "end", points=2)),
        END,
        scores=(ScoreDef("loyalty", "忠诚度", 3),),
    )
    assert max_scores(q) == {"loyalty": 4}
    assert [str(i) for i in graph_issues(q)] == [
        "g:1: score 'loyalty': a path can collect 4 points, more than its max 3"
    ]


def test_a_questionnaire_without_an_end_node_is_reported() -> None:
    q = _q(Node("only", NodeKind.MESSAGE, "只有", next=_go("only")))
    assert "g:1: questionnaire has no end node" in [str(i) for i in graph_issues(q)]
