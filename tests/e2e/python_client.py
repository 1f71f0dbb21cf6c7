"""Driven by tests/e2e/python.rs: the Python client against a real NATS and resolver.

Talks to the test on stdin/stdout, one line each way:
  KEY <base64>  ->  a JSON object of grants bound to that key (and a few others)
  COUNT         ->  the resolver's request counter, to count round trips
  OK            <-  every assert held (any failure exits non-zero with a traceback)
"""

import _thread
import base64
import json
import os
import pathlib
import pickle
import signal
import sys
import threading
import time

import hush


def ask(line):
    print(line, flush=True)
    answer = sys.stdin.readline()
    assert answer, f"the test closed stdin after {line!r}"
    return answer


def requests():
    return int(ask("COUNT"))


def raises(kind, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except hush.HushError as error:
        assert error.kind == kind, f"expected {kind}, got {error.kind}: {error}"
        assert isinstance(error, Exception)
        assert str(error).startswith(f"{kind}: "), str(error)
        return error
    raise AssertionError(f"expected HushError({kind!r}) from {call.__name__}{args}")


env = os.environ
resolver_b64 = env["HUSH_RESOLVER_KEY_B64"]
resolver_path = pathlib.Path(env["HUSH_RESOLVER_KEY_PATH"])

# Keys: base64 text, a path, raw bytes and a persistent client key.
client = hush.Client(env["HUSH_NATS_URL"], resolver_public_keys=[resolver_b64], request_timeout=10)
assert len(base64.b64decode(client.public_key)) == 32
assert hush.Client(env["HUSH_NATS_URL"], resolver_path).public_key != client.public_key
hush.Client(env["HUSH_NATS_URL"], [base64.b64decode(resolver_b64), str(resolver_path)])
with hush.Client(env["HUSH_NATS_URL"], resolver_b64, client_key=env["HUSH_CLIENT_KEY"]) as persistent:
    assert persistent.public_key == pathlib.Path(env["HUSH_CLIENT_PUB"]).read_text().strip()
raises("config_invalid", hush.Client, env["HUSH_NATS_URL"], ["/nonexistent/resolver.pub"])
raises("config_invalid", hush.Client, env["HUSH_NATS_URL"], [])
raises("config_invalid", hush.Client, env["HUSH_NATS_URL"], resolver_b64, client_key="/nonexistent/worker.key")
raises("unavailable", hush.Client, "nats://127.0.0.1:1", resolver_b64, connect_timeout=1)
for bad in (lambda: hush.Client(env["HUSH_NATS_URL"], [42]), lambda: hush.Client(env["HUSH_NATS_URL"], resolver_b64, request_timeout=0)):
    try:
        bad()
        raise AssertionError("a wrong argument was accepted")
    except (TypeError, ValueError):
        pass

grants = json.loads(ask(f"KEY {client.public_key}"))
grant = grants["read"]
session = client.session(grant)
assert (session.tenant, session.namespace) == ("acme", "company.etl")

# Nothing shows a grant or a value.
for shown in (repr(session), repr(client), repr(session.masker())):
    assert grant not in shown and grant[-20:] not in shown, shown
assert "hush1.***" in repr(session), repr(session)

# Round trip, JSON paths, versions.
assert session.secret("PLAIN") == "plain value ✓"
assert session.secret("DB", path="credentials.password") == "p@ss/w0rd"
assert session.secret("DB", 'servers[0]["host name"]') == "db1"
assert session.secret("ROTATING") == "two"
assert session.secret("ROTATING", version=env["ROTATING_V1"]) == "one"
if env["ROTATING_V1"].isdigit():
    assert session.secret("ROTATING", version=int(env["ROTATING_V1"])) == "one"
assert session.secret_bytes("PLAIN") == "plain value ✓".encode()

# Several secrets, one round trip.
before = requests()
values = session.secrets(
    ["PLAIN", ("DB", "credentials.user"), ("ROTATING", None, env["ROTATING_V1"]), {"name": "ROTATING"}, {"name": "DB", "path": "credentials.password"}]
)
assert requests() - before == 1, "secrets() is one round trip"
assert values == ["plain value ✓", "app", "one", "two", "p@ss/w0rd"], values
assert session.secrets([]) == []
for bad in ("PLAIN", [("a", "b", "c", "d")], [{"name": "X", "other": 1}], [3]):
    try:
        session.secrets(bad)
        raise AssertionError(f"secrets({bad!r}) was accepted")
    except TypeError:
        pass

# Templates: the Rust client's syntax, one round trip.
before = requests()
rendered = session.render('postgres://{{ secret("DB", "credentials.user") }}:{{ secret("PLAIN") }}@db/app')
assert requests() - before == 1, "render() is one round trip"
assert rendered == "postgres://app:plain value ✓@db/app", rendered
raises("invalid_input", session.render, "{{ secret(")

# The masker knows every value resolved, in its encoded forms too.
masker = session.masker()
# "app" was resolved too (the user of DB): every resolved value of 3 bytes or more is masked.
assert masker.mask("pw=p@ss/w0rd; url=postgres://app:p%40ss%2Fw0rd@db") == "pw=******; url=postgres://******:******@db"
assert masker.mask("nothing secret") == "nothing secret"

# Errors carry hush's kind and message.
missing = raises("not_found", session.secret, "NOPE")
assert missing.context.get("secret") == "NOPE", missing.context
assert "NOPE" in missing.message, missing.message
assert missing.temporary is False
copy = pickle.loads(pickle.dumps(missing))
assert (copy.kind, copy.message, copy.context) == (missing.kind, missing.message, missing.context)
raises("not_found", session.secret, "DB", path="credentials.token")
raises("not_found", session.secrets, ["PLAIN", "NOPE"])
binary = raises("invalid_input", session.secret, "BINARY")
assert "secret_bytes" in binary.message, binary.message
assert session.secret_bytes("BINARY") == bytes([0xFF, 0xFE, 0x00, 0x01])
raises("unauthorized", client.session, "hush1.not-a-grant")
raises("unauthorized", client.session(grants["forged"]).secret, "PLAIN")
raises("unauthorized", client.session(grants["other_key"]).secret, "PLAIN")

# No resolver serving: nobody subscribed (no responders), or a subscriber that never answers
# (the request timeout), waited for with the GIL released.
idle = hush.Client(env["HUSH_IDLE_NATS_URL"], resolver_path, request_timeout=1)
raises("unavailable", idle.session(grant).secret, "PLAIN")
counted = [0]
stop = threading.Event()


def count():
    while not stop.is_set():
        counted[0] += 1


counter = threading.Thread(target=count)
counter.start()
time.sleep(0.05)
started, at_start = time.monotonic(), counted[0]
timed_out = raises("unavailable", idle.session(grants["silent"]).secret, "PLAIN")
waited, counted_meanwhile = time.monotonic() - started, counted[0] - at_start
stop.set()
counter.join()
assert "1" in timed_out.message and timed_out.temporary, timed_out
assert 0.9 < waited < 5, waited
assert counted_meanwhile > 10000, f"other threads ran only {counted_meanwhile} loops during the wait: is the GIL held?"

# Ctrl-C interrupts a call waiting on the network. A process started in the background by a
# non-interactive shell (CI) inherits SIGINT ignored, and then Python installs no handler and
# interrupt_main() does nothing: install Python's own handler, as an interactive run has it.
signal.signal(signal.SIGINT, signal.default_int_handler)
slow = hush.Client(env["HUSH_IDLE_NATS_URL"], resolver_path, request_timeout=10)
timer = threading.Timer(0.3, _thread.interrupt_main)
started = time.monotonic()
timer.start()
try:
    slow.session(grants["silent"]).secret("PLAIN")
    raise AssertionError("a silent resolver answered")
except KeyboardInterrupt:
    pass
assert time.monotonic() - started < 2, "KeyboardInterrupt came late"

client.close()
raises("unavailable", session.secret, "PLAIN")
print("OK", flush=True)
