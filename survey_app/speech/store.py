"""Where the clips are kept: files under the instance folder,
``audio/<version id>/<language>/<part>.<digest>.<opus|mp3>``, named by the first 12 hex
digits of their content's SHA-256 (a clip's address never changes meaning, so browsers
may keep it for a year), and beside them ``manifest.json``, which says which file is each
part's and how it was made.

Showing a survey page must not touch the disk: each process keeps what it last read of
a manifest (`Clips`) and looks at the file's modification again at most every
`AUDIO_RECHECK_SECONDS` (one `stat`); a change made in this process is seen at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, url_for

MANIFEST = "manifest.json"
MIMETYPES = {"opus": "audio/ogg", "mp3": "audio/mpeg"}
#: A clip's file name: part (an item code or "intro"), digest, extension.
FILE_NAME = re.compile(r"^([A-Za-z0-9_-]{1,64})\.([0-9a-f]{12})\.(opus|mp3)$")
LANG = re.compile(r"^[a-z]{2,3}$")


class Clips:
    """The clips of a version in a language, as last read: file name by part. `stamp`
    changes whenever a file does (it keys the cached pages that link to them)."""

    __slots__ = ("files", "lang", "stamp", "version_id")

    def __init__(self, version_id: int, lang: str, files: dict[str, str] | None = None):
        self.version_id, self.lang, self.files = version_id, lang, dict(files or {})
        joined = "\n".join(f"{part}={name}" for part, name in sorted(self.files.items()))
        self.stamp = hashlib.sha256(joined.encode()).hexdigest()[:16] if self.files else ""

    def __bool__(self) -> bool:
        return bool(self.files)

    def url(self, part: str) -> str | None:
        """The clip's address on the citizen's site, or None when the part has none."""
        name = self.files.get(part)
        if name is None:
            return None
        return url_for("citizen.audio", version_id=self.version_id, lang=self.lang, name=name)


@dataclass(frozen=True)
class StoredClip:
    data: bytes
    digest: str
    mimetype: str
    modified: float


def digest_name(part: str, data: bytes, ext: str) -> str:
    return f"{part}.{hashlib.sha256(data).hexdigest()[:12]}.{ext}"


class AudioStore:
    def __init__(self, root: Path, recheck_seconds: float = 60):
        self.root = Path(root)
        self.recheck = recheck_seconds
        self._seen: dict[tuple[int, str], tuple[float, tuple | None, Clips]] = {}

    def folder(self, version_id: int, lang: str) -> Path:
        if not LANG.match(lang):
            raise ValueError(f"not a language code: {lang!r}")
        return self.root / str(int(version_id)) / lang

    # -- reading ------------------------------------------------------------------------

    def manifest(self, version_id: int, lang: str) -> dict[str, dict]:
        """Each part's record: file, origin ("engine" or "recorded"), bytes, seconds,
        and for a made clip the digest of what it was made from."""
        path = self.folder(version_id, lang) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        parts = data.get("parts") if isinstance(data, dict) else None
        return parts if isinstance(parts, dict) else {}

    def clips(self, version_id: int, lang: str) -> Clips:
        """The clips a page links to (cached; see the module's docstring)."""
        key = (version_id, lang)
        seen = self._seen.get(key)
        now = time.monotonic()
        if seen is not None and now - seen[0] < self.recheck:
            return seen[2]
        signature = self._signature(version_id, lang)
        if seen is not None and seen[1] == signature:
            self._seen[key] = (now, signature, seen[2])
            return seen[2]
        files = {part: record["file"] for part, record in self.manifest(version_id, lang).items()
                 if isinstance(record, dict) and FILE_NAME.match(str(record.get("file")))}
        clips = Clips(version_id, lang, files)
        self._seen[key] = (now, signature, clips)
        return clips

    def _signature(self, version_id: int, lang: str) -> tuple | None:
        try:
            st = (self.folder(version_id, lang) / MANIFEST).stat()
        except (FileNotFoundError, ValueError):
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def languages(self, version_id: int) -> list[str]:
        """The languages that have a manifest for the version."""
        base = self.root / str(int(version_id))
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir()
                      if LANG.match(p.name) and (p / MANIFEST).is_file())

    def file(self, version_id: int, lang: str, name: str) -> Path | None:
        """The path of a stored clip named `name`, or None."""
        if FILE_NAME.match(name) is None or not LANG.match(lang):
            return None
        path = self.folder(version_id, lang) / name
        return path if path.is_file() else None

    def read(self, version_id: int, lang: str, name: str) -> StoredClip | None:
        """A stored clip, read whole (a few KB), or None when there is none by that name
        (or it was removed a moment ago)."""
        path = self.file(version_id, lang, name)
        if path is None:
            return None
        try:
            data, modified = path.read_bytes(), path.stat().st_mtime
        except FileNotFoundError:
            return None
        found = FILE_NAME.match(name)
        return StoredClip(data, found.group(2), MIMETYPES[found.group(3)], modified)

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def editing(self, version_id: int, lang: str):
        """The manifest's parts to change in place, under a lock that keeps two writers
        (a web worker and a command) from losing each other's change; written back
        whole (a reader sees the old manifest or the new one, never half of one), and
        files no longer named in it removed."""
        folder = self.folder(version_id, lang)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            parts = self.manifest(version_id, lang)
            before = {r.get("file") for r in parts.values() if isinstance(r, dict)}
            yield parts
            tmp = folder / f".{MANIFEST}.{os.getpid()}.{threading.get_ident()}"
            tmp.write_text(json.dumps({"parts": parts}, ensure_ascii=False, indent=1,
                                      sort_keys=True), encoding="utf-8")
            os.replace(tmp, folder / MANIFEST)
            kept = {r.get("file") for r in parts.values() if isinstance(r, dict)}
            for name in before - kept:
                if name and FILE_NAME.match(name):
                    (folder / name).unlink(missing_ok=True)
        self._seen.pop((version_id, lang), None)

    def write(self, version_id: int, lang: str, name: str, data: bytes) -> None:
        """Put a clip's file in place (before the manifest names it)."""
        folder = self.folder(version_id, lang)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if path.is_file() and path.stat().st_size == len(data):
            return  # named by its content: already there
        tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}"
        tmp.write_bytes(data)
        os.replace(tmp, path)


def store_of(app: Flask | None = None) -> AudioStore:
    """The application's (by default the current one's) audio store, one per process;
    made on first use, so that creating the application touches no file."""
    if app is None:
        app = current_app
    store = app.extensions.get("audio_store")
    if store is None:
        root = app.config.get("AUDIO_FOLDER") or Path(app.instance_path) / "audio"
        store = app.extensions["audio_store"] = AudioStore(
            Path(root), app.config.get("AUDIO_RECHECK_SECONDS", 60))
    return store
