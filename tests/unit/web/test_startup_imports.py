"""A worker starts small: heavy libraries load on first use, never when the app is built."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

LAZY = (
    "redis",
    "cryptography",
    "genai_prices",
    "pydantic",
    "numpy",
    "jsonschema",
    "jwt",
    "referencing",
    "regex",
    "botocore",
    "xml.etree",
    "wsproto",
    "h11",
)


def test_building_the_app_imports_no_heavy_library() -> None:
    code = f"import sys, wsgi; print(','.join(m for m in {LAZY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
