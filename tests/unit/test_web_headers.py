"""The front ends' headers in AWS (CloudFront's response-headers policies in
template.yaml) are the ones the local cloud serves (infra/localcloud/static.py), and the
API answers cross-origin callers from the front ends' origins only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.localcloud.static import content_security_policy, security_headers
from infra.localcloud.template import load_template
from lending.api.proxy import allowed_origins, cors_headers, preflight_reply

TEMPLATE = load_template(Path(__file__).resolve().parents[2] / "template.yaml")
DOCS = "https://docs.example"


def policy(name: str) -> dict[str, Any]:
    config: dict[str, Any] = TEMPLATE["Resources"][name]["Properties"]
    return dict(config["ResponseHeadersPolicyConfig"])


def test_the_pages_csp_in_aws_is_the_local_clouds() -> None:
    csp = policy("WebHeadersPolicy")["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    text = csp["ContentSecurityPolicy"]["Fn::Sub"]
    resolved = text.replace("https://${DocumentsBucket.RegionalDomainName}", DOCS)
    assert resolved == content_security_policy((DOCS,), (DOCS,))
    assert csp["Override"] is True


def test_the_other_page_headers_match_too() -> None:
    local = security_headers((DOCS,), (DOCS,))
    config = policy("WebHeadersPolicy")
    custom = {i["Header"]: i["Value"] for i in config["CustomHeadersConfig"]["Items"]}
    for header in (
        "Cross-Origin-Opener-Policy",
        "Cross-Origin-Resource-Policy",
        "Permissions-Policy",
    ):
        assert custom[header] == local[header]
    security = config["SecurityHeadersConfig"]
    assert security["FrameOptions"]["FrameOption"] == local["X-Frame-Options"]
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == local["Referrer-Policy"]


def test_api_replies_through_cloudfront_are_never_stored() -> None:
    items = policy("ApiHeadersPolicy")["CustomHeadersConfig"]["Items"]
    assert {"Header": "Cache-Control", "Value": "no-store", "Override": True} in items
    behaviours = TEMPLATE["Resources"]["WebDistribution"]["Properties"]["DistributionConfig"]
    api = next(b for b in behaviours["CacheBehaviors"] if b["PathPattern"] == "/v1/*")
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert api["ResponseHeadersPolicyId"] == {"Ref": "ApiHeadersPolicy"}


ALLOWED = allowed_origins("https://h5.example.cn, https://console.example.cn/")


def test_cors_lets_the_front_ends_read_replies_and_no_one_else() -> None:
    assert {"https://h5.example.cn", "https://console.example.cn"} == ALLOWED
    assert cors_headers("https://h5.example.cn", ALLOWED) == {
        "Access-Control-Allow-Origin": "https://h5.example.cn",
        "Vary": "Origin",
    }
    for stranger in ("https://evil.example", "null", "https://h5.example.cn.evil.example", None):
        assert "Access-Control-Allow-Origin" not in cors_headers(stranger, ALLOWED)
    assert allowed_origins("") == frozenset()


def test_a_preflight_from_a_front_end_is_answered_any_other_refused() -> None:
    ok = preflight_reply({"headers": {"Origin": "https://console.example.cn"}}, ALLOWED, {})
    assert ok["statusCode"] == 204
    assert ok["headers"]["Access-Control-Allow-Origin"] == "https://console.example.cn"
    assert "Authorization" in ok["headers"]["Access-Control-Allow-Headers"]
    refused = preflight_reply({"headers": {"origin": "https://evil.example"}}, ALLOWED, {})
    assert refused["statusCode"] == 403
    assert "Access-Control-Allow-Origin" not in refused["headers"]
