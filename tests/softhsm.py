"""SoftHSM2 for the tests: a real PKCS#11 token, with its own configuration and token folder
under the test session's temporary folder, a fresh token per test (``softhsm2-util
--init-token``). Without SoftHSM2 the token tests skip, except under CI (CI=true), where a
missing token is a failure, as an unreachable PostgreSQL is."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from privacy.pkcs11 import DEFAULT_MODULE

MODULE = Path(os.environ.get("CITYID_TEST_PKCS11_MODULE", str(DEFAULT_MODULE)))
USER_PIN = "4729-1862"
SO_PIN = "so-58213947"


@dataclass(frozen=True)
class Token:
    label: str
    pin: str

    def settings(self) -> dict[str, object]:
        return {"key_provider": "pkcs11", "pkcs11_module": MODULE,
                "pkcs11_token_label": self.label, "pkcs11_pin": self.pin}

    def environment(self) -> dict[str, str]:
        """The same settings as CITYID_ variables, for commands that read them."""
        return {"CITYID_KEY_PROVIDER": "pkcs11", "CITYID_PKCS11_MODULE": str(MODULE),
                "CITYID_PKCS11_TOKEN_LABEL": self.label, "CITYID_PKCS11_PIN": self.pin}


class SoftHsm:
    def __init__(self, root: Path) -> None:
        self.tokens = root / "tokens"
        self.tokens.mkdir(parents=True)
        self.conf = root / "softhsm2.conf"
        self.conf.write_text(f"directories.tokendir = {self.tokens}\n"
                             "objectstore.backend = file\nlog.level = ERROR\n"
                             "slots.removable = false\n")

    def new_token(self) -> Token:
        token = Token(label=f"cityid-{uuid.uuid4().hex[:12]}", pin=USER_PIN)
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", token.label,
                        "--pin", token.pin, "--so-pin", SO_PIN],
                       env={**os.environ, "SOFTHSM2_CONF": str(self.conf)}, check=True,
                       capture_output=True, timeout=60)
        return token


def missing() -> str | None:
    if shutil.which("softhsm2-util") is None:
        return "softhsm2-util is not installed (apt-get install softhsm2)"
    if not MODULE.exists():
        return f"no PKCS#11 module at {MODULE} (apt-get install softhsm2)"
    return None


def start(root: Path) -> SoftHsm:
    """SoftHSM2 for this test process. The module reads SOFTHSM2_CONF when it is initialised,
    once per process, so the variable is set before anything loads it."""
    why = missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"SoftHSM2 is needed under CI: {why}", pytrace=False)
        pytest.skip(why)
    softhsm = SoftHsm(root)
    os.environ["SOFTHSM2_CONF"] = str(softhsm.conf)
    return softhsm
