"""Satisfaction scores: how many answers gave each 1–5 score, per questionnaire and rating question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Answer, Survey


@dataclass(frozen=True)
class RatingCount:
    """Answers to one rating question of one questionnaire that gave ``rating``."""

    questionnaire_id: str
    question_id: str
    rating: int
    count: int


def rating_counts(session: Session, questionnaires: Sequence[str], start: datetime, end: datetime) -> list[RatingCount]:
    """Scores given in [start, end) to the rating questions of ``questionnaires``, counted per score."""
    query = (
        select(Survey.questionnaire_id, Answer.question_id, Answer.rating, func.count())
        .join(Survey, Survey.id == Answer.survey_id)
        .where(
            Survey.questionnaire_id.in_(list(questionnaires)),
            Answer.rating.is_not(None),
            Answer.answered_at >= start,
            Answer.answered_at < end,
        )
        .group_by(Survey.questionnaire_id, Answer.question_id, Answer.rating)
    )
    return [RatingCount(qn, question, int(rating or 0), int(n)) for qn, question, rating, n in session.execute(query)]
