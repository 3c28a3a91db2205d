"""A small stand-in for the Hugging Face Hub on 127.0.0.1, so tests run huggingface_hub's real download and upload
code offline.

It serves a folder of repos, one sub-folder per revision (branch or tag)::

    root/<user>/<name>/<revision>/<files ...>

A revision's commit id is the sha1 of its files (names and contents), so it changes when they do, and a request may
name the branch, the tag or that 40-hex id. Endpoints, as huggingface_hub 2.x calls them:

* ``HEAD|GET /{repo_id}/resolve/{revision}/{path}`` (the revision URL-quoted, so ``refs/pr/1`` is one segment):
  small files answer 200 with ``ETag`` (the git blob sha1), ``X-Repo-Commit`` and ``Content-Length``; "LFS" files
  (``*.safetensors``, ``*.png``) answer 302 to a second server on another port (the "CDN": another origin, so the
  client stops there, reads the metadata from the redirect and drops its token, as with huggingface.co) with
  ``X-Linked-Etag`` (sha256), ``X-Linked-Size``, ``X-Repo-Commit`` and ``Location``.
* ``GET /api/models/{repo_id}`` and ``/api/models/{repo_id}/revision/{revision}``: model info (``sha``,
  ``siblings``; sizes with ``?blobs=true``).
* ``POST /api/repos/create`` (409 when the repo exists), ``/api/validate-yaml``,
  ``/api/models/{repo_id}/preupload/{revision}`` (every file "regular": no LFS or Xet upload) and
  ``/api/models/{repo_id}/commit/{revision}`` (the NDJSON commit; the files land in the revision folder, and the
  commit is kept in ``FakeHub.commits``).
* 404s carry ``X-Error-Code: RepoNotFound`` / ``RevisionNotFound`` / ``EntryNotFound`` and ``X-Error-Message``,
  which huggingface_hub turns into ``RepositoryNotFoundError`` / ``RevisionNotFoundError`` /
  ``RemoteEntryNotFoundError``.

``use_fake_hub(monkeypatch, endpoint, hf_home)`` points huggingface_hub at it: ``HF_ENDPOINT`` and a fresh
``HF_HOME`` in the environment (for subprocesses) and in ``huggingface_hub.constants`` (which reads them at import),
with offline mode off and no token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".png", ".bin")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """The fake Hub: ``url`` (HF_ENDPOINT), ``root`` (the repos), ``requests`` and ``commits`` (what was asked)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.requests: list[tuple[str, str, str]] = []  # ("hub" or "cdn", method, path) of every request
        self.commits: list[dict] = []  # {"repo_id", "revision", "summary", "files": {path: bytes}, "deleted": [...]}
        self._lock = threading.Lock()
        self._cdn = _serve(self, _CdnHandler)
        self._hub = _serve(self, _HubHandler)
        self.url = f"http://127.0.0.1:{self._hub.server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{self._cdn.server_address[1]}"

    # --------------------------------------------------------------------------------------- repos

    def publish(self, repo_id: str, source: str | Path | dict[str, bytes], revision: str = "main") -> str:
        """Put a folder (or {path: bytes}) in ``repo_id`` at branch/tag ``revision``; returns its commit id."""
        folder = self.root / repo_id / quote(revision, safe="")
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        if isinstance(source, dict):
            for name, data in source.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
        else:
            shutil.copytree(source, folder, dirs_exist_ok=True)
        return self.commit_id(repo_id, revision)

    def files(self, repo_id: str, revision: str) -> dict[str, Path]:
        folder = self.root / repo_id / quote(revision, safe="")
        return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}

    def commit_id(self, repo_id: str, revision: str) -> str:
        digest = hashlib.sha1()
        for name, path in self.files(repo_id, revision).items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def repo_exists(self, repo_id: str) -> bool:
        return repo_id.count("/") == 1 and (self.root / repo_id).is_dir()

    def find_revision(self, repo_id: str, revision: str) -> str | None:
        """The folder name of ``revision`` (a branch, a tag or a commit id), or None."""
        folder = self.root / repo_id
        if (folder / quote(revision, safe="")).is_dir():
            return revision
        for child in sorted(folder.iterdir()):
            name = unquote(child.name)
            if child.is_dir() and self.commit_id(repo_id, name) == revision:
                return name
        return None

    def blob(self, sha256: str) -> bytes | None:
        for path in self.root.rglob("*"):
            if (
                path.is_file()
                and path.suffix in LFS_SUFFIXES
                and hashlib.sha256(path.read_bytes()).hexdigest() == sha256
            ):
                return path.read_bytes()
        return None

    def close(self) -> None:
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeHub:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(hub: FakeHub, handler: type) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.hub = hub  # type: ignore[attr-defined]
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-hub-{handler.__name__}", daemon=True
    ).start()
    return server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def hub(self) -> FakeHub:
        return self.server.hub  # type: ignore[attr-defined]

    def log_message(self, *args) -> None:  # quiet; requests are recorded in FakeHub.requests
        pass

    origin = "hub"

    def _record(self) -> None:
        with self.hub._lock:
            self.hub.requests.append((self.origin, self.command, self.path))

    def _send(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, content_type: str | None = None
    ) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), headers, "application/json")

    def _error(self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None) -> None:
        extra = {"X-Error-Message": message, **({"X-Error-Code": code} if code else {}), **(headers or {})}
        self._json(status, {"error": message}, extra)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class _CdnHandler(_Handler):
    """Content-addressed blobs: GET /{sha256}."""

    origin = "cdn"

    def do_GET(self) -> None:
        self._record()
        data = self.hub.blob(urlsplit(self.path).path.strip("/"))
        if data is None:
            self._send(404, b"no such blob")
        else:
            self._send(200, data, {"ETag": f'"{hashlib.sha256(data).hexdigest()}"'}, "application/octet-stream")

    do_HEAD = do_GET


class _HubHandler(_Handler):
    def do_HEAD(self) -> None:
        self._record()
        self._route("HEAD")

    def do_GET(self) -> None:
        self._record()
        self._route("GET")

    def do_POST(self) -> None:
        self._record()
        self._route("POST")

    # --------------------------------------------------------------------------------------- routing

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = parse_qs(url.query)
        if method == "POST":
            body = self._body()
            if parts == ["api", "repos", "create"]:
                return self._create_repo(json.loads(body or b"{}"))
            if parts == ["api", "validate-yaml"]:
                return self._json(200, {})
            if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] in ("preupload", "commit"):
                repo_id, action, revision = f"{parts[2]}/{parts[3]}", parts[4], parts[5]
                return (
                    self._preupload(repo_id, revision, body)
                    if action == "preupload"
                    else self._commit(repo_id, revision, body)
                )
            return self._error(404, None, f"no POST route {url.path}")
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
        if parts[:2] == ["api", "models"] and len(parts) in (4, 6) and (len(parts) == 4 or parts[4] == "revision"):
            revision = parts[5] if len(parts) == 6 else "main"
            return self._model_info(f"{parts[2]}/{parts[3]}", revision, "true" in query.get("blobs", []))
        return self._error(404, None, f"no route {url.path}")

    def _locate(self, repo_id: str, revision: str) -> tuple[str, str] | None:
        """(revision folder name, commit id), or an error answer and None."""
        if not self.hub.repo_exists(repo_id):
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        name = self.hub.find_revision(repo_id, revision)
        if name is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return None
        return name, self.hub.commit_id(repo_id, name)

    def _resolve(self, repo_id: str, revision: str, filename: str) -> None:
        found = self._locate(repo_id, revision)
        if found is None:
            return
        name, commit = found
        path = self.hub.files(repo_id, name).get(filename)
        if path is None:
            return self._error(
                404, "EntryNotFound", f'{filename} does not exist on "{revision}"', {"X-Repo-Commit": commit}
            )
        data = path.read_bytes()
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
        if path.suffix in LFS_SUFFIXES:  # LFS: metadata on the redirect, the bytes on another origin
            sha256 = hashlib.sha256(data).hexdigest()
            headers.update(
                {
                    "X-Linked-Etag": f'"{sha256}"',
                    "X-Linked-Size": str(len(data)),
                    "ETag": f'"{git_blob_sha1(data)}"',
                    "Location": f"{self.hub.cdn_url}/{sha256}",
                }
            )
            return self._send(302, b"", headers)
        headers["ETag"] = f'"{git_blob_sha1(data)}"'
        self._send(200, data, headers, "application/octet-stream")

    def _model_info(self, repo_id: str, revision: str, blobs: bool) -> None:
        found = self._locate(repo_id, revision)
        if found is None:
            return
        name, commit = found
        siblings = []
        for rel, path in self.hub.files(repo_id, name).items():
            entry: dict = {"rfilename": rel}
            if blobs:
                data = path.read_bytes()
                entry.update(size=len(data), blobId=git_blob_sha1(data))
                if path.suffix in LFS_SUFFIXES:
                    entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            siblings.append(entry)
        self._json(
            200,
            {
                "id": repo_id,
                "modelId": repo_id,
                "sha": commit,
                "private": False,
                "disabled": False,
                "tags": [],
                "siblings": siblings,
                "lastModified": "2026-01-01T00:00:00.000Z",
            },
        )

    def _create_repo(self, payload: dict) -> None:
        repo_id = (
            f"{payload.get('organization') or 'user'}/{payload['name']}"
            if "/" not in payload.get("name", "")
            else payload["name"]
        )
        if self.hub.repo_exists(repo_id):
            return self._error(409, None, "You already created this model repo")
        (self.hub.root / repo_id / "main").mkdir(parents=True)
        self._json(200, {"url": f"{self.hub.url}/{repo_id}", "name": repo_id})

    def _preupload(self, repo_id: str, revision: str, body: bytes) -> None:
        if self._locate(repo_id, revision) is None:
            return
        files = json.loads(body)["files"]
        self._json(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})

    def _commit(self, repo_id: str, revision: str, body: bytes) -> None:
        found = self._locate(repo_id, revision)
        if found is None:
            return
        name, _ = found
        folder = self.hub.root / repo_id / quote(name, safe="")
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next((item["value"] for item in lines if item["key"] == "header"), {})
        record = {"repo_id": repo_id, "revision": name, "summary": header.get("summary"), "files": {}, "deleted": []}
        for item in lines:
            key, value = item["key"], item["value"]
            if key == "file":
                data = base64.b64decode(value["content"])
                (folder / value["path"]).parent.mkdir(parents=True, exist_ok=True)
                (folder / value["path"]).write_bytes(data)
                record["files"][value["path"]] = data
            elif key in ("deletedFile", "deletedFolder"):
                target = folder / value["path"]
                shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
                record["deleted"].append(value["path"])
            elif key != "header":
                return self._error(400, None, f"the fake Hub takes regular files only, not {key}")
        with self.hub._lock:
            self.hub.commits.append(record)
        commit = self.hub.commit_id(repo_id, name)
        self._json(
            200, {"commitUrl": f"{self.hub.url}/{repo_id}/commit/{commit}", "commitOid": commit, "pullRequestUrl": None}
        )


def use_fake_hub(monkeypatch, endpoint: str, hf_home: str | Path) -> None:
    """Point huggingface_hub at ``endpoint`` with a fresh cache under ``hf_home``, online and without a token.

    The environment is set for subprocesses; ``huggingface_hub.constants`` too, because it reads HF_ENDPOINT,
    HF_HOME and HF_HUB_OFFLINE once, at import (``hf_hub_url`` and the downloads read the constants at call time).
    """
    from huggingface_hub import constants

    hf_home = Path(hf_home)
    for name in (
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_ASSETS_CACHE",
        "HF_TOKEN_PATH",
        "HF_XET_CACHE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    values = {
        "ENDPOINT": endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "HF_ASSETS_CACHE": str(hf_home / "assets"),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        "HF_XET_CACHE": str(hf_home / "xet"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
    }
    for name, value in values.items():
        if hasattr(constants, name):
            monkeypatch.setattr(constants, name, value)
