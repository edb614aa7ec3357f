"""Verifying our signatures needs only the public key: banks and borrowers can do it offline."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def verify_signature(public_key_pem: bytes, message: bytes, signature: bytes) -> bool:
    """What anyone holding our public key runs: no AWS involved."""
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True
