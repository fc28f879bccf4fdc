"""`python3 -m deploy install ...`: the installer before `anjungan` itself is installed."""

from deploy.cli import main

raise SystemExit(main())
