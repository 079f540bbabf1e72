"""Train > Sweep...: the sweep dialog (``dialog.py``) with its rows of what varies
(``rows.py``), the sweep's thread (``thread.py``) and its results (``results.py``)."""
