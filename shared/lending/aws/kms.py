"""KMS-backed cipher (envelope encryption), blind index, MAC and signer."""

from __future__ import annotations

import os
import struct
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_BLOB_VERSION = 1
SIGNING_ALGORITHM = "RSASSA_PKCS1_V1_5_SHA_256"


class KmsEnvelopeCipher:
    """AES-256-GCM under a fresh KMS data key per record.

    Blob layout: version (1 byte) | len(encrypted key) (2 bytes) | encrypted key |
    nonce (12 bytes) | ciphertext+tag. The encryption context is bound both to the
    data key (KMS) and to the ciphertext (GCM associated data).
    """

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes:
        key = self._kms.generate_data_key(
            KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context
        )
        nonce = os.urandom(12)
        sealed = AESGCM(key["Plaintext"]).encrypt(nonce, plaintext, _aad(context))
        wrapped: bytes = key["CiphertextBlob"]
        return struct.pack(">BH", _BLOB_VERSION, len(wrapped)) + wrapped + nonce + sealed

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes:
        version, key_len = struct.unpack(">BH", blob[:3])
        if version != _BLOB_VERSION:
            raise ValueError("unknown ciphertext version")
        wrapped = blob[3 : 3 + key_len]
        nonce = blob[3 + key_len : 15 + key_len]
        sealed = blob[15 + key_len :]
        key = self._kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=context)["Plaintext"]
        return AESGCM(key).decrypt(nonce, sealed, _aad(context))


def _aad(context: dict[str, str]) -> bytes:
    return "&".join(f"{k}={context[k]}" for k in sorted(context)).encode()


class KmsMac:
    """HMAC-SHA-256 with a KMS HMAC key: session tokens and blind indexes."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def mac(self, message: bytes) -> bytes:
        out = self._kms.generate_mac(
            KeyId=self._key_id, Message=message, MacAlgorithm="HMAC_SHA_256"
        )
        return bytes(out["Mac"])

    def verify(self, message: bytes, mac: bytes) -> bool:
        try:
            out = self._kms.verify_mac(
                KeyId=self._key_id, Message=message, Mac=mac, MacAlgorithm="HMAC_SHA_256"
            )
        except self._kms.exceptions.KMSInvalidMacException:
            return False
        return bool(out["MacValid"])


class KmsBlindIndex:
    def __init__(self, mac: KmsMac) -> None:
        self._mac = mac

    def digest(self, value: str) -> str:
        return self._mac.mac(value.encode()).hex()


class KmsSigner:
    """RSA PKCS#1 v1.5 SHA-256 signatures; verifiable with the public key alone.

    The 32-byte SHA-256 digest of a document is signed as a RAW message (KMS hashes it
    once more). moto does not implement MessageType=DIGEST, and RAW over the digest
    behaves the same on moto and on AWS while keeping any document size under KMS's
    4 KB message limit. Verifiers check the signature against the digest's bytes.
    """

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self.key_id = key_id
        self._public_pem: bytes | None = None

    def sign_digest(self, digest: bytes) -> bytes:
        out = self._kms.sign(
            KeyId=self.key_id,
            Message=digest,
            MessageType="RAW",
            SigningAlgorithm=SIGNING_ALGORITHM,
        )
        return bytes(out["Signature"])

    def public_key_pem(self) -> bytes:
        if self._public_pem is None:
            der = self._kms.get_public_key(KeyId=self.key_id)["PublicKey"]
            key = serialization.load_der_public_key(der)
            self._public_pem = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        return self._public_pem
