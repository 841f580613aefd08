"""Install advice that cannot downgrade a user: what Firehose tells a user to
install names the missing libraries themselves (``pip install h2 h11``,
``pip install redis``), right however Firehose was installed. Naming an extra
(``pip install 'Flask-Firehose[probe]'``) would, in an install made from a
checkout, fetch the old release from the package index over it.

The missing module is simulated in a fresh interpreter that blocks its
import (``sys.modules[name] = None``), not by uninstalling anything."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "flask_firehose"
PROBE = "from flask_firehose._cli import main; main(['probe', '--timeout', '1', 'http://127.0.0.1:1/'], 'firehose')"


def probe_without(module: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.modules[{module!r}] = None; {PROBE}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("module", ["h2", "h11", "hpack"])
def test_the_probe_without_h2_or_h11_says_pip_install_h2_h11(module: str) -> None:
    done = probe_without(module)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"firehose probe needs h2 and h11 ({module} is missing): pip install h2 h11\n"


def test_with_h2_and_h11_the_same_run_probes() -> None:
    done = probe_without("not_a_module_anyone_imports")
    assert done.returncode == 2
    assert done.stderr.startswith("firehose probe: http://127.0.0.1:1/: connection refused")


def test_a_broken_module_of_firehose_is_not_blamed_on_a_missing_library() -> None:
    # Installing h2 and h11 would not mend this: the error shows instead of advice.
    done = probe_without("flask_firehose._probe.checks")
    assert done.returncode == 1
    assert "pip install" not in done.stderr
    assert "flask_firehose._probe.checks" in done.stderr


EXTRA_INSTALL = re.compile(r"flask[-_]firehose\[", re.IGNORECASE)


def test_no_message_of_the_package_names_an_extra_to_install() -> None:
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}: {line.strip()}"
        for path in sorted(SOURCE.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if EXTRA_INSTALL.search(line)
    ]
    assert offenders == [], "name the missing library (pip install redis), not an extra:\n" + "\n".join(offenders)
