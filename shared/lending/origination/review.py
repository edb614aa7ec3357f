"""QueueForReview and EscalateReview: hold the case's task token until a reviewer decides."""

from __future__ import annotations

from dataclasses import dataclass

from lending.applications.model import Status
from lending.origination.base import Step
from lending.origination.states import Waiting


@dataclass
class ReviewQueue(Step):
    def queue_for_review(self, application_id: str, token: str) -> Waiting:
        return self._hold(application_id, token, escalated=False)

    def escalate_review(self, application_id: str, token: str) -> Waiting:
        """The review outlived its timeout: the senior queue takes it, with a fresh wait."""
        return self._hold(application_id, token, escalated=True)

    def _hold(self, application_id: str, token: str, escalated: bool) -> Waiting:
        """Hold the task token with the case; a retried queueing keeps the original time."""
        app = self._load(application_id)
        if not app.terminal:
            now = self.clock.now()
            app.tokens["review"] = token
            app.status = Status.IN_REVIEW
            if app.review_queued_at is None:
                app.review_queued_at = now
            if escalated and app.review_escalated_at is None:
                app.review_escalated_at = now
            self._save(app, "review_escalated" if escalated else "queued_for_review")
        return Waiting(application_id=application_id)
