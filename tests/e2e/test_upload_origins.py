"""Only the front ends' origin may upload documents from a browser: the document bucket's
CORS rule names it (`FrontEndOrigins`), where it used to allow any website."""

from __future__ import annotations

import urllib.error
import urllib.request

from infra.localcloud.cloud import LocalCloud


def preflight(cloud: LocalCloud, origin: str) -> tuple[int, str | None]:
    """The browser's CORS preflight before a presigned POST to the bucket."""
    bucket = cloud.deployment.ref("DocumentsBucket")
    request = urllib.request.Request(f"{cloud.s3_url}/{bucket}", method="OPTIONS")
    request.add_header("Origin", origin)
    request.add_header("Access-Control-Request-Method", "POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get("Access-Control-Allow-Origin")


def test_the_front_ends_origin_may_upload_and_no_other(cloud: LocalCloud) -> None:
    status, allowed = preflight(cloud, cloud.api_url)
    assert status == 200 and allowed == cloud.api_url
    # S3 refuses the preflight (403), so the browser never sends the POST. (moto's server
    # echoes any origin in its own headers whatever the answer; the status is S3's.)
    status, _ = preflight(cloud, "https://evil.example")
    assert status == 403
