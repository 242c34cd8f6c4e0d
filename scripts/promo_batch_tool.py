#!/usr/bin/env python3
"""The promo batch tool at the path operators know: `starpass promo-batch` under another name
(app/cli/promo_batch.py; docs/runbooks/promo-batch.md). Run it with the project's Python:

    .venv/bin/python scripts/promo_batch_tool.py generate --campaign ... --out report.csv
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["promo-batch", *sys.argv[1:]]))
