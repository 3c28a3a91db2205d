"""Which exceptions carry a message meant for the user, for the CLI and the Studio alike.

Every typed error of the core (``ConfigError``, ``CheckpointError``, ``DatasetError``, ``ZipDatasetError``,
``HubError``, ``DirectionsError``, ``NonFiniteError``, the Studio's ``StudioError``) is a ``ValueError`` whose message
says what was wrong and what to do; ``FileNotFoundError`` names a missing file; ``OverflowError`` is a number too
large to convert. The CLI prints them as one ``error:`` line (exit 2), the Studio as a toast. Anything else is a
bug and keeps its traceback.
"""

USER_ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError, OverflowError)
