"""botocore's data (endpoints.json, the service models), loaded once per process.

Below the readers (validator.aws.session builds every client on it) and the params (the region
check reads endpoints.json from it), so that neither reaches into the other. botocore is imported
only when the loader is first asked for.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def data_loader() -> Any:
    """botocore's data loader, one per process, so that what it parses (endpoints.json, 1.2 MB,
    and each service model) is parsed once: by the params' region check or by the first client,
    whichever asks first. It caches what it loaded; botocore builds a new one per session."""
    import botocore.loaders  # deferred: loads botocore; only when asked: `vhv lint` and `vhv --version` never load botocore

    return botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))
