"""Sluice's python3 runtime: imports a handler once, then serves invocations over stdin/stdout.

The protocol (docs/runtime-protocol.md): frames of a 4-byte big-endian length and that many bytes of
UTF-8 JSON. Once the interpreter and this runtime are initialised, the process sends {"waiting": true}
and waits for a start frame {"start": true} (sent at once for a process started on demand, later for one
made ahead). Then it imports the handler and sends {"ready": true} (or {"ready": false, "error", "traceback"}
and exits 1). Then, per request {"invocation_id", "event_b64", "context"}, it answers
{"ok":true,"output":…} (exactly this prefix, output last) or {"ok": false, "error", "traceback",
"retryable"}. A batch frame {"batch": [request, …]} runs its requests in order and answers each
with its own reply frame, sent as it ends.
print() in a function goes to stderr: stdout carries only frames.
"""
import binascii
import importlib
import json
import os
import struct
import sys

# `traceback` is imported when a traceback is written, and events are decoded with `binascii` rather
# than `base64`: about 3 ms less from spawn to ready for every new process (python3 -X importtime).


def format_exc():
    import traceback

    return traceback.format_exc()


protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
protocol_in = sys.stdin.buffer


def frame(obj):
    data = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
    return struct.pack(">I", len(data)) + data


def send(obj):
    protocol_out.write(frame(obj))


def read_exact(n):
    chunks = []
    while n > 0:
        chunk = protocol_in.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def receive():
    header = read_exact(4)
    if header is None:
        return None
    body = read_exact(struct.unpack(">I", header)[0])
    return None if body is None else json.loads(body)


def decode_event(raw):
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    try:
        return json.loads(text)
    except ValueError:
        return text


class NonRetryableError(Exception):
    """Raise (or subclass) to send the record to the dead-letter topic without further attempts."""


def main():
    code_dir, handler = sys.argv[1], sys.argv[2]
    send({"waiting": True})
    if receive() is None:
        return  # a process made ahead and never used
    sys.path.insert(0, code_dir)
    if os.environ.get("SLUICE_DEPS"):
        sys.path.insert(1, os.environ["SLUICE_DEPS"])
    try:
        module_name, function_name = handler.rsplit(".", 1)
        function = getattr(importlib.import_module(module_name), function_name)
    except BaseException as error:  # noqa: BLE001 - every import failure is reported
        send({"ready": False, "error": f"{type(error).__name__}: {error}", "traceback": format_exc()})
        sys.exit(1)
    send({"ready": True})
    while True:
        request = receive()
        if request is None:
            return
        # A batch's replies go out one by one as each request ends: the worker times each one.
        for each in request["batch"] if "batch" in request else [request]:
            protocol_out.write(invoke(function, each))


def invoke(function, request):
    """Runs one request; returns its reply frame."""
    raw = binascii.a2b_base64(request["event_b64"]) if request.get("event_b64") is not None else None
    try:
        output = function(decode_event(raw), request["context"])
        try:
            # Output last, so the worker can take it without parsing the frame.
            # allow_nan=False: NaN and infinities are not JSON; the result record must be.
            data = b'{"ok":true,"output":' + json.dumps(output, separators=(",", ":"), allow_nan=False).encode() + b"}"
            return struct.pack(">I", len(data)) + data
        except (TypeError, ValueError) as error:
            return frame({"ok": False, "error": f"the output is not JSON-serializable: {error}", "traceback": "", "retryable": False})
    except Exception as error:  # noqa: BLE001 - a function's exception is its error result
        retryable = not (isinstance(error, NonRetryableError) or getattr(error, "sluice_retryable", True) is False)
        return frame({"ok": False, "error": f"{type(error).__name__}: {error}", "traceback": format_exc(), "retryable": retryable})


main()
