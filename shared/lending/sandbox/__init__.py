"""Deterministic stand-ins for external data sources, for tests, demos and staging.

`lending.sandbox.documents` (document images) is not imported here: it pulls in
OpenCV and Pillow, which most Lambdas do not ship.
"""

from lending.sandbox.identities import SyntheticIdentity, make_identity

__all__ = ["SyntheticIdentity", "make_identity"]
