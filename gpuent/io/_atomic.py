"""The one atomic writer: every output is written under a temporary name and renamed.

A file (or a folder, e.g. a Zarr store) is written to a temporary name in the target
folder, the provenance record (:mod:`gpuent.provenance`) is written into it, and it is
renamed into place, so an output file is whole or absent. Ctrl-C is held during the short
steps that must not be cut in half.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["AtomicOutput", "atomic_path", "deferred_interrupt", "publish"]


@contextlib.contextmanager
def deferred_interrupt():
    """Hold Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt.

    Creating, publishing and removing an output are short steps that must not be cut in
    half (a temporary folder nobody removes, or an old output moved away and no new one in
    its place). Outside the main thread, or when SIGINT is not Python's, it does nothing.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def publish(tmp, target):
    """Rename a finished temporary file or folder to ``target``.

    ``mkstemp``/``mkdtemp`` create private (0600/0700) entries; the published
    output gets the permissions a plain ``open``/``mkdir`` would have given it
    under the user's umask. A folder already at ``target`` (a previous .zarr) is
    moved aside first and removed after the rename.
    """
    umask = os.umask(0)
    os.umask(umask)
    mode = (0o777 if os.path.isdir(tmp) else 0o666) & ~umask
    os.chmod(tmp, mode)
    target = Path(target)
    if target.is_dir() and not target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / "x")
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old / "x", target)  # put the previous output back
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
        return
    os.replace(tmp, target)


class AtomicOutput:
    """The one atomic writer: a temporary file (or folder) next to ``path``.

    Write to :attr:`tmp`, then :meth:`commit` renames it to ``path``; :meth:`abort`
    (or leaving a ``with`` block by an exception, KeyboardInterrupt included)
    removes it, so an output is whole or absent. Every writer of gpuent (maps,
    streamed sinks, movies, tables) goes through it.

    Parameters
    ----------
    path : str or Path
        The final output.
    folder : bool
        Reserve a folder (e.g. a Zarr store) instead of a file.
    create : bool
        Leave the reserved name created (default); with ``False`` it is freed for
        a library that insists on creating it, and only the unique name is kept.
    record : bool
        Write the provenance record (:mod:`gpuent.provenance`) into the output (or a
        ``NAME.json`` sidecar) before it is renamed into place (default).
    tmp : str or Path, optional
        A fixed temporary name next to ``path`` instead of a unique one (a resumable
        partial output, :mod:`gpuent._resume`); nothing is created for it here.
    """

    def __init__(self, path, *, folder=False, create=True, record=True, tmp=None):
        self.path = Path(path)
        self.record = record
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise FileNotFoundError(f"output folder does not exist: {parent}")
        self.folder = parent
        prefix = f".{self.path.name}."
        self.tmp = None
        self.done = False
        if tmp is not None:
            self.tmp = Path(tmp)
            return
        try:
            with deferred_interrupt():  # a Ctrl-C here would leave a temporary name behind
                self.tmp = self._reserve(parent, prefix, folder, create)
        except KeyboardInterrupt:
            if self.tmp is not None:
                self.abort()
            raise
        self.done = False

    def _reserve(self, parent, prefix, folder, create):
        try:
            if folder:
                tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=self.path.suffix, dir=parent))
                if not create:
                    os.rmdir(tmp)
                return tmp
            else:
                fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=self.path.suffix, dir=parent)
                os.close(fd)
                return Path(tmp)
        except OSError as exc:
            raise OSError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def commit(self):
        """Record how it was made, then rename the finished temporary output to the target."""
        sidecar = None
        if self.record:
            from ..provenance import stamp

            try:
                sidecar = stamp(self.tmp, self.path)
            except KeyboardInterrupt:
                self.abort()
                raise
            except Exception as exc:  # the output is fine; say that its record is missing
                import sys

                print(f"gpuent: warning: {self.path} is written without its provenance "
                      f"record ({type(exc).__name__}: {exc})", file=sys.stderr)
        try:
            with deferred_interrupt():
                publish(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise OSError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self.done = True
        if sidecar is not None:
            from ..provenance import sidecar_path

            with AtomicOutput(sidecar_path(self.path), record=False) as side:
                side.tmp.write_text(sidecar)
        return self.path

    def abort(self):
        """Remove the temporary output (nothing is written)."""
        self.done = True
        with deferred_interrupt():
            if self.tmp.is_dir() and not self.tmp.is_symlink():
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    self.tmp.unlink()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success rename it to ``path``."""
    with AtomicOutput(path) as out:
        yield out.tmp
