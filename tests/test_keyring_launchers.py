"""The `keyring` command behind pip's `#!/bin/sh` wrapper launcher (issue 9.8).

pip writes a console script as a shell wrapper when the interpreter's path has
a space or is longer than 127 bytes. Here real pip, in a real venv at such a
path, writes the `keyring` script; keyring itself is reached through a `.pth`
line to this environment's site-packages, so nothing is downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import indexauth
from conftest import KeyringStore
from indexauth._keyring import KeyringCommandSource
from indexauth._resolver import Resolver
from indexauth._sources import Target

URL = "http://127.0.0.1:8765/simple/"


def launcher_wheel(directory: Path) -> Path:
    """A wheel whose only content is the `keyring = keyring.cli:main` console script."""
    name = "keyring_launcher"
    files = {
        f"{name}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{name}-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
        f"{name}-1.0.dist-info/entry_points.txt": "[console_scripts]\nkeyring = keyring.cli:main\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{name}-1.0.dist-info/RECORD,,")
    files[f"{name}-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def venv_with_keyring_script(where: Path) -> Path:
    """A real venv at *where* whose pip wrote the `keyring` script; keyring reached by `.pth`."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    Path(purelib, "outer.pth").write_text(sysconfig.get_path("purelib") + "\n", "utf-8")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
         str(launcher_wheel(where.parent))],
        check=True, timeout=300, capture_output=True,
    )
    return where / "bin" / "keyring"


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("shape", ["space", "long"])
def test_wrapper_launcher_finds_the_entry(tmp_path: Path, kr: KeyringStore, shape: str) -> None:
    """A lookup through pip's shell wrapper finds what `keyring get` finds, in one process."""
    if shape == "space":
        where = tmp_path / "with space" / "venv"
    else:
        where = tmp_path / ("x" * 60) / ("y" * 60) / "venv"
    script = venv_with_keyring_script(where)
    head = script.read_text("utf-8").splitlines()
    assert head[0] == "#!/bin/sh", head[:3]  # pip wrote its wrapper, as for a real install
    kr.set(URL, "alice", "pw")
    direct = subprocess.run(
        [str(script), "get", URL, "alice"], capture_output=True, text=True, timeout=120, check=False
    )
    assert direct.stdout.strip() == "pw"  # the script itself works
    index = indexauth.Index(URL)
    result = Resolver([KeyringCommandSource(timeout=120, executable=str(script))]).lookup(
        Target(index, index.realm)
    )
    assert result.credentials == indexauth.Credentials("alice", "pw"), result.failures
    before = kr.pids()
    other = indexauth.Index("http://127.0.0.1:8766/other/")
    missed = Resolver([KeyringCommandSource(timeout=120, executable=str(script))]).lookup(
        Target(other, other.realm)
    )
    assert missed.credentials is None and not missed.failures
    assert len(kr.pids() - before) == 1  # a miss over every service name is one process


def test_relocatable_wrapper_runs_as_a_command(tmp_path: Path, kr: KeyringStore) -> None:
    """uv's relocatable wrapper computes its interpreter in shell: it is run name by name."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "python"  # a symlink would lose this venv: python finds it by its path
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', "utf-8")
    shim.chmod(0o755)
    script = bindir / "keyring"
    script.write_text(
        "#!/bin/sh\n"
        "'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")\"/'python' \"$0\" \"$@\"\n"
        "' '''\n"
        "import sys\n"
        "from keyring.cli import main\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(main())\n",
        "utf-8",
    )
    script.chmod(0o755)
    kr.set("127.0.0.1:8765", "alice", "pw")
    index = indexauth.Index(URL)
    result = Resolver([KeyringCommandSource(timeout=120, executable=str(script))]).lookup(
        Target(index, index.realm)
    )
    assert result.credentials == indexauth.Credentials("alice", "pw"), result.failures
    assert len(kr.pids()) == 4  # one `keyring get` per service name until the hit
