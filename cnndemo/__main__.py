"""`python -m cnndemo ...`: see cnndemo.cli.main."""
import sys

from cnndemo.cli.main import main

sys.exit(main())
