"""Helpers of the export wizard tests: read a stored export's zip."""

import io
import json
import zipfile

from outcomes.data_export.models import DataExport


def zip_names(export: DataExport) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(bytes(export.content))) as archive:
        return set(archive.namelist())


def zip_member(export: DataExport, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(bytes(export.content))) as archive:
        return archive.read(name)


def manifest_of(export: DataExport) -> dict:
    return json.loads(zip_member(export, "manifest.json"))
