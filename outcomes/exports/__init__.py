"""Labelled exports of one dataset (PROTOCOL §7 and §14): CSV with codebook,
Stata, SPSS, SAS transport and R, each keeping variable labels, value labels
and the missing-data codes.

``dataset`` describes the data (``Dataset``, ``Variable``, ``Coded``); each
writer takes a ``Dataset`` and returns its files as name → bytes, for a
worker to zip or store:

* ``csv_codebook.csv_files``: ``<name>.csv`` and ``<name>_codebook.csv``;
* ``stata.stata_files``: ``<name>.dta``;
* ``spss.spss_files``: ``<name>.sav``;
* ``sas.sas_files``: ``<name>.xpt`` and ``formats.sas``;
* ``r_script.r_files``: ``<name>.csv`` and ``load_<name>.R``.

``EXPORT_WRITERS`` maps each format's key to its writer.
"""

from outcomes.exports.csv_codebook import csv_files
from outcomes.exports.r_script import r_files
from outcomes.exports.sas import sas_files
from outcomes.exports.spss import spss_files
from outcomes.exports.stata import stata_files

EXPORT_WRITERS = {
    "csv": csv_files,
    "stata": stata_files,
    "spss": spss_files,
    "sas": sas_files,
    "r": r_files,
}
