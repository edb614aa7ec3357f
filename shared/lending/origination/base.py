"""What every origination step does: load the application, save it with one audit event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lending.applications.model import Application
from lending.applications.ports import ApplicationRepository, Event
from lending.errors import NotFound
from lending.ports import Clock


@dataclass
class Step:
    repo: ApplicationRepository
    clock: Clock

    def _load(self, application_id: str) -> Application:
        app = self.repo.get(application_id)
        if app is None:
            raise NotFound("no such application")
        return app

    def _save(self, app: Application, event_type: str, **data: Any) -> Application:
        now = self.clock.now()
        app.updated_at = now
        return self.repo.save(app, Event(type=event_type, at=now, data=data))
