"""Which exceptions carry a message meant for the user, for the CLI and the Studio alike.

``UserError`` is the one base class of the project's user-facing errors: every typed error of the core
(``ConfigError``, ``CheckpointError``, ``DatasetError``, ``ZipDatasetError``, ``HubError``, ``DirectionsError``,
``NonFiniteError``) and the Studio's ``StudioError`` derives from it, and its message says what was wrong and what to
do. It is a ``ValueError`` so that code which catches bad values keeps working. ``FileNotFoundError`` names a missing
file. The CLI prints these as one ``error:`` line (exit 2), the Studio as a toast. Anything else is a bug and keeps
its traceback.
"""


class UserError(ValueError):
    """Bad input, named: the message says what was wrong and what to do instead."""


USER_ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError, OverflowError)
