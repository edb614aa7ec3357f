"""Verifying our signatures needs only the public key: banks and borrowers can do it offline."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def verify_signature(public_key_pem: bytes, digest: bytes, signature: bytes) -> bool:
    """What anyone holding our public key runs, no AWS involved.

    `digest` is the SHA-256 of the signed document; the signature is RSA PKCS#1 v1.5
    with SHA-256 over those 32 bytes (see `lending.aws.kms.KmsSigner`).
    """
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, digest, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
