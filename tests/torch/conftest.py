import os
import sys

# The helpers (irbuild, cases) live next to the tests; --import-mode=importlib adds no path.
sys.path.insert(0, os.path.dirname(__file__))
