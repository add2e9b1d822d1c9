"""Where things are in the repository, for tests that read its examples and docs."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES_DIR = os.path.join(ROOT, "examples")


def example(name: str) -> str:
    return os.path.join(EXAMPLES_DIR, name)
