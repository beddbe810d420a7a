#!/usr/bin/env python3
"""Build dist/kervan.ocmod.zip for the OpenCart 4 Extension Installer.

The zip root holds install.json, admin/, catalog/ and system/ (the installer extracts them into
extension/kervan/; the code "kervan" comes from the file name). The schema migrations are copied
from schema/migrations/ (the single source) into system/sql/ inside the zip.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
INCLUDE = ("install.json", "admin", "catalog", "system")


def build(target: Path) -> list[str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for top in INCLUDE:
            path = HERE / top
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                rel = f.relative_to(HERE).as_posix()
                if rel.startswith("system/sql/") or f.name.startswith("."):
                    continue
                zf.write(f, rel)
                names.append(rel)
        migrations = sorted((ROOT / "schema" / "migrations").glob("*.sql"))
        if not migrations:
            raise SystemExit("no schema/migrations/*.sql found")
        for f in migrations:
            rel = f"system/sql/{f.name}"
            # Byte-for-byte copy: the checksum recorded in kervan_migration is sha256 of this text.
            zf.writestr(rel, f.read_bytes())
            names.append(rel)
    tmp.replace(target)
    return names


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist" / "kervan.ocmod.zip"
    entries = build(out)
    print(f"{out}: {len(entries)} files")
