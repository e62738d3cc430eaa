"""Where the team's shared material is: ../shared beside the checkout (as CI lays it), else /work/shared."""
from __future__ import annotations

import os
from pathlib import Path

_beside = Path(__file__).resolve().parents[1].parent / "shared"
SHARED = Path(os.environ.get("SOCKDOCTOR_SHARED") or (_beside if (_beside / "cases").is_dir() else "/work/shared"))
CASES = SHARED / "cases"
DOMAIN = SHARED / "domain"
SCHEMAS = SHARED / "schemas"
SHARED_STR = str(SHARED)
