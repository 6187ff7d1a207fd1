"""`python -m formcheck ...` runs the CLI (same as the `formcheck` command)."""

import sys

from formcheck.cli import main

sys.exit(main())
