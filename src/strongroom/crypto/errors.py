"""Crypto failures. Verification raises; nothing here ever returns False."""


class CryptoError(Exception):
    """Base of every crypto failure. Messages never contain key material or plaintext."""


class DecryptionError(CryptoError):
    """Ciphertext could not be opened: wrong key, wrong context (AAD/label) or tampering."""


class VerificationError(CryptoError):
    """A signature, MAC or checksum did not verify."""


class InvalidKeyError(CryptoError):
    """Key material is malformed or of the wrong size/type."""


class FormatError(CryptoError):
    """A serialised format (version byte, prefix, length) is not one we understand."""
