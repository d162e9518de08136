"""The export wizard (PROTOCOL §14, issue 17): a statistician or data manager
chooses forms, fields, sites, visits, a data cut-off and formats; a worker
builds the labelled datasets (``outcomes.exports``) within the requester's
scope, zips every chosen format with a manifest and stores the zip in the
database; the requester (and the statistician, who sees every export as the
log) downloads it, each download logged.

* ``models``: ``DataExport`` (request, progress, stored zip and digest) and
  ``DataExportDownload`` (who downloaded which export, when);
* ``services``: ``data_export_request`` and the worker's ``data_export_build``;
* ``archive``: the zip and its manifest;
* ``selectors``: which exports a user sees;
* ``forms``, ``views``, ``urls``: the pages under ``/exports/``.
"""
