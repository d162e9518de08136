"""The zip of a data export: every chosen format's files of every dataset,
and ``manifest.json`` saying what was asked for and what came out.

Written with the standard library's ``zipfile`` in memory: the files come
from the writers as bytes already, so the zip costs about their compressed
size again (the size of a whole-trial export is not measured yet).
Each entry is stamped with the export's generation time, so the same files
give the same zip.
"""

import datetime
import io
import json
import zipfile


def manifest(
    *,
    parameters: dict,
    counts: dict[str, int],
    files: dict[str, bytes],
    generated_at: datetime.datetime,
    platform_version: str,
) -> bytes:
    """``manifest.json``: the choices, rows per dataset, when and by which
    platform version it was generated, and every file with its size."""
    body = {
        "generated_at": generated_at.isoformat(),
        "platform_version": platform_version,
        "parameters": parameters,
        "rows": counts,
        "files": {name: len(data) for name, data in sorted(files.items())},
    }
    return json.dumps(body, indent=1, ensure_ascii=False).encode()


def zip_files(files: dict[str, bytes], *, generated_at: datetime.datetime) -> bytes:
    """One deflated zip of ``files`` (name → bytes), in name order."""
    stamp = generated_at.astimezone(datetime.UTC).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()
