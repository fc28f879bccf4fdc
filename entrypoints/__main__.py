"""`python -m entrypoints` runs the `anjungan` command."""

import sys

from entrypoints.cli import main

sys.exit(main())
