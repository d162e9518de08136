"""pyreadstat writes to a path; the writers hand back bytes (a worker zips or
stores them), so each file is written into a temporary folder and read back."""

import tempfile
from collections.abc import Callable
from pathlib import Path


def written_bytes(file_name: str, write: Callable[[Path], None]) -> bytes:
    """The bytes ``write`` puts in a file called ``file_name``."""
    with tempfile.TemporaryDirectory(prefix="perform-export-") as folder:
        path = Path(folder) / file_name
        write(path)
        return path.read_bytes()
