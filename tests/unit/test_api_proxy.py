"""API Gateway's `/{proxy+}` events reach the Chalice route their path names."""

from __future__ import annotations

from lending.api.proxy import match_route, route_event

ROUTES = [
    "/v1/applications",
    "/v1/applications/{application_id}",
    "/v1/applications/{application_id}/offer",
    "/v1/products/{product_id}/disclosure",
    "/v1/keys/signing",
    "/v1/keys/{key_id}",
]


def test_paths_match_their_route_and_capture_parameters() -> None:
    assert match_route(ROUTES, "/v1/applications") == ("/v1/applications", {})
    assert match_route(ROUTES, "/v1/applications/A1/offer") == (
        "/v1/applications/{application_id}/offer",
        {"application_id": "A1"},
    )
    assert match_route(ROUTES, "/v1/applications/A1/") == (
        "/v1/applications/{application_id}",
        {"application_id": "A1"},
    )


def test_a_literal_segment_wins_over_a_parameter() -> None:
    assert match_route(ROUTES, "/v1/keys/signing") == ("/v1/keys/signing", {})
    assert match_route(ROUTES, "/v1/keys/k1") == ("/v1/keys/{key_id}", {"key_id": "k1"})


def test_unknown_paths_match_nothing() -> None:
    for path in ["/", "/v1", "/v1/applications/A1/offer/x", "/v2/applications", "/v1/keys//"]:
        assert match_route(ROUTES, path) is None, path


def test_the_routed_event_names_the_route_as_chalice_expects() -> None:
    event = {
        "resource": "/{proxy+}",
        "path": "/v1/applications/A1/offer",
        "httpMethod": "POST",
        "pathParameters": {"proxy": "v1/applications/A1/offer"},
        "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": "POST"},
    }
    routed = route_event(event, ROUTES)
    assert routed is not None
    assert routed["requestContext"]["resourcePath"] == "/v1/applications/{application_id}/offer"
    assert routed["pathParameters"] == {"application_id": "A1"}
    assert event["requestContext"]["resourcePath"] == "/{proxy+}"  # the original is untouched
