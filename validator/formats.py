"""The report formats vhv writes, known before any of them is loaded (the argument parser)."""

FORMATS = ("console", "json", "junit", "sarif", "markdown", "html")
# the file name each format is written to by `vhv demo --write-reports DIR`
EXTENSIONS = {
    "console": "txt",
    "json": "json",
    "junit": "junit.xml",
    "sarif": "sarif",
    "markdown": "md",
    "html": "html",
}
