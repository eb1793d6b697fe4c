"""`huifang scripts ...`: check and try questionnaires (filled in by the questionnaire work)."""

from __future__ import annotations

import click


@click.group()
def scripts() -> None:
    """Check and try the questionnaires in scripts_zh/."""
