"""Files and folders for the service user only: 0600 files in 0700 folders, whatever the umask.

Everything mailbot writes holds patient data (the database with forms and outgoing mail, raw
messages, documents, the outbox, the demo's output), so modes are set explicitly where a file or
folder is created, and not left to the umask. Folders that already exist and that mailbot did not
create (the working directory, /var/lib) are never changed; files mailbot owns are tightened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dirs(path: Path) -> Path:
    """Create `path` and each missing parent with mode 0700 (existing folders are left alone)."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:   # made by someone else meanwhile (another mailbot process)
            continue
        os.chmod(folder, DIR_MODE)   # mkdir's mode is masked by the umask; this is not
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists as a 0600 file (created empty when missing; contents untouched)."""
    path = Path(path)
    private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        tighten_fd(fd)
    finally:
        os.close(fd)
    return path


def tighten(path: Path, mode: int = FILE_MODE) -> None:
    """chmod an existing file or folder of ours to `mode`; missing or foreign ones are skipped."""
    try:
        info = os.lstat(path)
        if info.st_uid == os.geteuid() and not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except (FileNotFoundError, PermissionError):
        pass


def tighten_fd(fd: int) -> None:
    """An open file we own becomes 0600 (a file made before this rule may have been 0644)."""
    info = os.fstat(fd)
    if info.st_uid == os.geteuid() and info.st_mode & 0o777 != FILE_MODE:
        os.fchmod(fd, FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` as a 0600 file (atomically: a temporary name, then a rename)."""
    path = Path(path)
    private_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            tighten_fd(handle.fileno())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def tighten_tree(root: Path) -> None:
    """Every file under `root` 0600 and every folder 0700 (for trees made by other libraries,
    such as the standard library's Maildir, whose files follow the umask)."""
    root = Path(root)
    tighten(root, DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            tighten(Path(folder) / name, DIR_MODE)
        for name in files:
            tighten(Path(folder) / name, FILE_MODE)
