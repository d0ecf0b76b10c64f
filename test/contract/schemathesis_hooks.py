"""Schemathesis hooks for the contract fuzz run (test/integration/contract-fuzz.test.ts starts it).

Generated requests alone would almost never authenticate, so every path past authentication would go untested:
these hooks give the management calls a real bearer token, and half of the token and introspection requests a real
client's credentials (turning the positive ones among them into valid forms), while the other half stays as generated. The root client
and the fuzz client are never the target of a PUT or DELETE, so the run cannot lock itself out.
"""

import base64
import itertools
import os

import schemathesis

BEARER = os.environ["GATEHOUSE_FUZZ_BEARER"]
CLIENT_ID = os.environ["GATEHOUSE_FUZZ_CLIENT_ID"]
CLIENT_SECRET = os.environ["GATEHOUSE_FUZZ_CLIENT_SECRET"]
LIVE_TOKEN = os.environ["GATEHOUSE_FUZZ_TOKEN"]
PROTECTED_IDS = set(os.environ["GATEHOUSE_FUZZ_PROTECTED_IDS"].split(","))
STAND_IN_ID = "fuzz-stand-in"
FORM = "application/x-www-form-urlencoded"
OAUTH_PATHS = {"/oauth2/token", "/oauth2/introspect"}
PUBLIC_PATHS = {"/.well-known/openid-configuration", "/.well-known/jwks.json", "/health/alive", "/health/ready", "/metrics"}

_turns = itertools.count()


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _set_header(case, name: str, value: str) -> None:
    if case.headers is None:
        case.headers = {}
    case.headers[name] = value


def _is_positive(case) -> bool:
    meta = case.meta
    return meta is None or str(meta.generation.mode) == "positive"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    path = case.operation.path
    turn = next(_turns)

    if case.path_parameters and case.path_parameters.get("id") in PROTECTED_IDS:
        case.path_parameters["id"] = STAND_IN_ID

    if path in OAUTH_PATHS:
        if turn % 2 == 0:
            # A negative case keeps its schema-breaking body, with real credentials, so the server's form checks are
            # what refuses it (not a 401 before the form is read); a positive one becomes a form that succeeds.
            if _is_positive(case):
                case.media_type = FORM
                if path == "/oauth2/token":
                    case.body = {"grant_type": "client_credentials", "scope": "fuzz.read" if turn % 4 == 0 else "fuzz.read fuzz.write"}
                else:
                    case.body = {"token": LIVE_TOKEN if turn % 4 == 0 else LIVE_TOKEN[:-1] + ("A" if LIVE_TOKEN[-1] != "A" else "B")}
            _set_header(case, "Authorization", _basic(CLIENT_ID, CLIENT_SECRET))
        return

    if path in PUBLIC_PATHS:
        return
    # Every tenth management call keeps what was generated (usually no credentials: a 401 the document must list).
    if turn % 10 != 0:
        _set_header(case, "Authorization", f"Bearer {BEARER}")
