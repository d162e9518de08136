"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV injection").

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which spreadsheets skip before looking for those) is
prefixed with an apostrophe: Excel and LibreOffice then show it as text.

Hand-written rather than with ``defusedcsv``: that library also rewrites
every ``|`` inside such cells as ``\\|``, and an audit export must give the
recorded text back unchanged apart from the one leading apostrophe.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """``value`` as the text of a CSV cell (``None``: empty), defused."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
