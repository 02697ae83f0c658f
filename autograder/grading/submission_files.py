"""Read a file of a student's submission folder without following anything the student could have placed.

`DIR/submitted/<student>/<assignment>/<file>` is read only when every step of the path below
`submitted/` is a real folder and the file itself is a regular file with one name: a symbolic link (to
the instructor's source notebook, to grading.json, to /etc/shadow), a hard link (`st_nlink` > 1), a FIFO,
a device or a folder is refused with the reason, and never read through. The file is opened with
O_NOFOLLOW | O_NONBLOCK and checked again on the open descriptor (same inode as the path's lstat), and
read up to a size limit.
"""
import os
import stat
from pathlib import Path


class RefusedFile(Exception):
    """A submission file the grader does not read; the message says why (and never shows its content)."""


def _kind(mode):
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def check_folders(root, path):
    """RefusedFile unless every folder from `root` (excluded) down to `path`'s parent is a real folder."""
    root, path = Path(root), Path(path)
    relative = path.parent.relative_to(root)
    current = root
    for part in relative.parts:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            raise FileNotFoundError(current) from None
        if not stat.S_ISDIR(info.st_mode):
            raise RefusedFile(f"{current.relative_to(root)} is {_kind(info.st_mode)}, not a folder")


def read_file(path, max_bytes, root=None):
    """The bytes of a regular, singly linked file (at most `max_bytes`; ValueError when larger).

    FileNotFoundError when it does not exist; RefusedFile when it is a link, a FIFO, a device, a folder,
    or a folder on its way from `root` is not a real folder."""
    path = Path(path)
    if root is not None:
        check_folders(root, path)
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise RefusedFile(f"{path.name} is {_kind(info.st_mode)}; submit the file itself")
    if info.st_nlink > 1:
        raise RefusedFile(f"{path.name} is a hard link ({info.st_nlink} names for one file); submit a copy")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino) or not stat.S_ISREG(opened.st_mode) \
                or opened.st_nlink > 1:
            raise RefusedFile(f"{path.name} changed while it was read")
        if opened.st_size > max_bytes:
            raise ValueError(f"{path.name} is {opened.st_size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:g} MB")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise ValueError(f"{path.name} is over the limit of {max_bytes / 2**20:g} MB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def folder_listing(folder, limit=10):
    """Names in a folder (for "found instead"), without following links; [] when it cannot be listed."""
    try:
        return sorted(entry.name for entry in os.scandir(folder))[:limit]
    except OSError:
        return []
