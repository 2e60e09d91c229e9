"""httpx with indexauth: a protected index, a 401 challenge, one lookup, then credentials up front.

Run it as is: ``python examples/httpx_client.py``. It starts its own small
index on 127.0.0.1, puts the password in a throw-away netrc file (your own
netrc and keyring are not touched), and makes a few requests.

It needs the httpx extra (`pip install '.[httpx]'` in the clone); without it,
it says so in one line instead of a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from _demo_server import PASSWORD, USERNAME, start

import indexauth

NAME = "examples/httpx_client.py"
try:
    import httpx
except ImportError:  # httpx2 has the same API
    try:
        import httpx2 as httpx  # type: ignore[no-redef]
    except ImportError:
        sys.exit(f"{NAME} needs httpx: pip install '.[httpx]' in the indexauth clone")


def main() -> int:
    """Run the demo; 0 when everything went as described."""
    base, httpd = start()
    with tempfile.TemporaryDirectory() as tmp:
        netrc = Path(tmp) / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login {USERNAME} password {PASSWORD}\n")
        netrc.chmod(0o600)
        os.environ["NETRC"] = str(netrc)

        index = indexauth.Index(f"{base}/simple/", name="demo")  # authenticate="auto"
        transport = indexauth.IndexAuthTransport([index], keyring_provider="disabled")
        with httpx.Client(transport=transport) as client:
            print("1. First request: sent without credentials, challenged, retried with netrc's:")
            first = client.get(f"{base}/simple/demo/")
            print(f"   -> {first.status_code}")
            print("2. Same index, another page: credentials go up front, no second challenge:")
            second = client.get(f"{base}/files/demo-1.0.tar.gz")
            print(f"   -> {second.status_code}")

        print("3. Without any credentials, the error says what was tried and what to do:")
        os.environ["NETRC"] = str(Path(tmp) / "missing")
        bare = indexauth.IndexAuthTransport([index], keyring_provider="disabled")
        with httpx.Client(transport=bare) as client:
            try:
                client.get(f"{base}/simple/demo/")
            except httpx.HTTPError as exc:  # indexauth's errors are httpx errors too
                print(f"   {type(exc).__name__}: {exc}")
                ok = isinstance(exc, indexauth.MissingCredentialsError)
            else:
                ok = False
    httpd.shutdown()
    return 0 if (first.status_code, second.status_code, ok) == (200, 200, True) else 1


if __name__ == "__main__":
    sys.exit(main())
