"""``python -m preauth`` runs the CLI."""

import sys

from preauth.cli import main

sys.exit(main())
