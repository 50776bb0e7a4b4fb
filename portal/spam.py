"""Settings: the spam filter as one person sees it (Bayes readiness, whether they train)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, render_template
from flask_babel import format_datetime
from flask_login import current_user, login_required

from core.extensions import db
from core.i18n import lazy_gettext as _l
from core.services.spam import learning

from .blueprint import bp


@bp.route("/spam")
@login_required
def spam_page():
    """Two progress bars towards min_learns, the queue, and this person's training."""
    result = learning.status(current_app.config)
    return render_template(
        "portal/spam.html", status=result,
        trainer=learning.trainer_status(db.session, current_user.address,
                                       learning.directory_groups(current_app.config)),
        mine=learning.recent_for(result.queue, current_user.address),
    )


OUTCOMES = {
    "learned": _l("Learned"),
    "already learned": _l("Already learned before (no change)"),
    "already known": _l("Not needed: the filter already rates it this way"),
    learning.SKIPPED: _l("Not learned: only the spamtrainers group trains"),
    "refused": _l("Not learned: too little text to learn from"),
}


@bp.app_template_filter("spam_outcome")
def spam_outcome(outcome: str) -> str:
    """A training outcome in words."""
    return OUTCOMES.get(outcome, outcome)


@bp.app_template_filter("spam_time")
def spam_time(stamp: float | None) -> str:
    """A time of the queue worker's report, in the reader's language and time zone."""
    return format_datetime(datetime.fromtimestamp(stamp, timezone.utc), "medium") if stamp else "—"
