"""The embedded local cloud: moto running the project's real template and state machine."""

from infra.localcloud.cloud import LocalCloud

__all__ = ["LocalCloud"]
