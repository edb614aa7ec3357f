"""S3 adapter of the document store (bucket encrypted with the project's KMS key)."""

from __future__ import annotations

from typing import Any

from lending.errors import InvalidRequest, NotFound


class S3DocumentStore:
    def __init__(self, client: Any, bucket: str, presign_client: Any | None = None) -> None:
        self._s3 = client
        self._bucket = bucket
        # Browsers may reach S3 at another address than functions do (the local cloud).
        self._presign = presign_client or client

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_seconds: int
    ) -> dict[str, Any]:
        """A presigned POST that S3 itself holds to the declared type and size."""
        post: dict[str, Any] = self._presign.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_seconds,
        )
        return {"url": post["url"], "fields": post["fields"]}

    def presign_download(
        self,
        key: str,
        expires_seconds: int,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str:
        """A presigned GET (SigV4, query-string signed) that expires: the object stays
        private, and the link is good for `expires_seconds` only. Browsers must not keep
        the image or file: the reply says no-store; a file comes as an attachment."""
        params: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": key,
            "ResponseCacheControl": "private, no-store",
        }
        if content_type:
            params["ResponseContentType"] = content_type
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url: str = self._presign.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds
        )
        return url

    def exists(self, key: str) -> bool:
        """Whether the object exists. Without s3:ListBucket, S3 answers a missing key with
        403 rather than 404: both mean "not there" to the caller."""
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "403"):
                return False
            raise
        return True

    def get(self, key: str, max_bytes: int) -> bytes:
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.ClientError as exc:
            raise NotFound("document not found") from exc
        if head["ContentLength"] > max_bytes:
            raise InvalidRequest("document too large", "too_large")
        body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
        )
