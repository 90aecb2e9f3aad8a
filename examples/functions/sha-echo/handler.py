"""Example python3 function: echoes the event with its SHA-256 and a greeting from the environment.

Publish {"fail": "always"} to see retries end in sluice.dlq, {"fail": "invalid"} for a non-retryable error.
"""
import hashlib
import json
import os


class InvalidOrder(Exception):
    """Bad input: retrying cannot help, so the event goes straight to the dead-letter topic."""
    sluice_retryable = False


def main(event, context):
    if isinstance(event, dict) and event.get("fail") == "always":
        raise RuntimeError("asked to fail")  # retried by the policy, then dead-lettered
    if isinstance(event, dict) and event.get("fail") == "invalid":
        raise InvalidOrder("the order is invalid")
    raw = json.dumps(event, sort_keys=True).encode() if not isinstance(event, (bytes, str)) else (
        event if isinstance(event, bytes) else event.encode())
    return {
        "sha256": hashlib.sha256(raw).hexdigest(),
        "greeting": os.environ.get("GREETING", ""),
        "event": event if not isinstance(event, bytes) else None,
        "invocation_id": context["invocation_id"],
        "attempt": context["attempt"],
    }
