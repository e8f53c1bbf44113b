import sys

from click2graph.cli import main

sys.exit(main())
