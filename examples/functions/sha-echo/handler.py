"""Example python3 function: echoes the event with its SHA-256 and a greeting from the environment."""
import hashlib
import json
import os


def main(event, context):
    raw = json.dumps(event, sort_keys=True).encode() if not isinstance(event, (bytes, str)) else (
        event if isinstance(event, bytes) else event.encode())
    return {
        "sha256": hashlib.sha256(raw).hexdigest(),
        "greeting": os.environ.get("GREETING", ""),
        "event": event if not isinstance(event, bytes) else None,
        "invocation_id": context["invocation_id"],
        "attempt": context["attempt"],
    }
