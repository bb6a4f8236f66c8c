#!/usr/bin/env python3
"""moto's server with DIGEST signing: the AWS KMS API the chain tests sign Ethereum transactions
with (crates/chain/tests/it/kms.rs). Run with the venv `make setup` installs
(scripts/moto-setup.sh): `.tools/moto/bin/python scripts/kms-test-server.py -p PORT`; the
arguments are moto_server's.

Why a launcher and not `moto_server` itself: moto 5.x's KMS `Sign` (moto/kms/responses.py and
moto/kms/utils.py) ignores `MessageType`, and signs the base64 *text* of the message, hashing it
with SHA-256 again. A signature over a digest (what an Ethereum signer asks for: alloy's
AwsSigner sends the 32-byte transaction hash with `MessageType=DIGEST`) therefore never verifies
against that digest. This launcher replaces only that handler: the message is base64-decoded,
and with `MessageType=DIGEST` the digest is signed as prehashed (`cryptography`'s `Prehashed`),
as AWS does. Everything else (CreateKey, GetPublicKey, errors, RAW signing semantics apart from
the decoding) is moto's.
"""

import base64
import json
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto.kms import responses
from moto.kms.exceptions import ValidationException
from moto.server import main

DIGEST_SIZES = {"ECDSA_SHA_256": 32, "ECDSA_SHA_384": 48, "ECDSA_SHA_512": 64}
HASHES = {"ECDSA_SHA_256": hashes.SHA256, "ECDSA_SHA_384": hashes.SHA384, "ECDSA_SHA_512": hashes.SHA512}


def sign(self):  # type: ignore[no-untyped-def]
    key_id = self._get_param("KeyId")
    message = self._get_param("Message")
    message_type = self._get_param("MessageType") or "RAW"
    algorithm = self._get_param("SigningAlgorithm")
    self._validate_key_id(key_id)
    if isinstance(message, str):
        message = base64.b64decode(message)
    if not message:
        raise ValidationException(
            "1 validation error detected: Value at 'Message' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    if message_type != "DIGEST":
        arn, signature, algorithm = self.kms_backend.sign(
            key_id=key_id, message=message, signing_algorithm=algorithm
        )
    else:
        key = self.kms_backend.describe_key(key_id)
        if key.key_usage != "SIGN_VERIFY":
            raise ValidationException(f"{key.arn} key usage is {key.key_usage} which is not valid for Sign.")
        private = getattr(key.private_key, "private_key", None)
        if not isinstance(private, ec.EllipticCurvePrivateKey) or algorithm not in HASHES:
            raise ValidationException(
                f"this test server signs digests with ECDSA keys only, not {key.key_spec} / {algorithm}"
            )
        if algorithm not in key.signing_algorithms:
            raise ValidationException(f"{algorithm} is not valid for {key.key_spec}")
        if len(message) != DIGEST_SIZES[algorithm]:
            raise ValidationException(
                f"Digest is invalid length for algorithm {algorithm}: {len(message)} bytes"
            )
        signature = private.sign(message, ec.ECDSA(utils.Prehashed(HASHES[algorithm]())))
        arn = key.arn
    return json.dumps(
        {
            "KeyId": arn,
            "Signature": base64.b64encode(signature).decode("utf-8"),
            "SigningAlgorithm": algorithm,
        }
    )


responses.KmsResponse.sign = sign

if __name__ == "__main__":
    main(sys.argv[1:])
