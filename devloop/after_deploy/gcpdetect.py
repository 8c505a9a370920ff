"""What a feature's deploy artifacts touch, so the deploy review inlines the matching checklists."""

from __future__ import annotations

import os
import re
from pathlib import Path

# checklist name -> (file name pattern, content pattern); a file matches on either.
SURFACES: dict[str, tuple[str, str]] = {
    "iam": (r"iam|polic", r"roles/|\bbindings\b|serviceAccount|iam\.gserviceaccount\.com|google_\w*iam"),
    "bigquery": (
        r"\.sql$|bigquery|bq",
        r"(?i)\bcreate\s+(or\s+replace\s+)?(table|view|schema)\b|google_bigquery|bq\s+mk",
    ),
    "cloud-run": (r"run|service", r"serving\.knative\.dev|google_cloud_run|gcloud\s+run\s+deploy"),
    "gke": (
        r"k8s|gke|manifest",
        r"apiVersion:\s*apps/v1|kind:\s*(Deployment|StatefulSet|DaemonSet)|google_container_cluster",
    ),
    "cloud-sql": (r"sql", r"sqladmin|google_sql_database|cloudsql|gcloud\s+sql"),
    "terraform": (r"\.tf$", r'resource\s+"google_'),
}
ALWAYS = ("security", "reliability", "cost")
MAX_BYTES = 1_000_000


def deploy_tree(root: Path, feature: str) -> list[str]:
    """``deploy/<feature>`` and every folder and file below it, relative to ``root``: what deploy_files looks at."""
    base = f"deploy/{feature}"
    out = [base]
    for folder, dirs, files in os.walk(root / base):
        rel = Path(folder).relative_to(root).as_posix()
        out += [f"{rel}/{name}" for name in (*dirs, *files)]
    return out


def deploy_files(root: Path, feature: str) -> list[Path]:
    folder = root / "deploy" / feature
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.stat().st_size <= MAX_BYTES)


def surfaces(files: list[Path]) -> list[str]:
    """Checklists that apply: one per surface the files touch, plus the always-on posture lists."""
    found = []
    for name, (file_pat, text_pat) in SURFACES.items():
        for f in files:
            text = f.read_text(encoding="utf-8", errors="replace")
            if re.search(text_pat, text) or (re.search(file_pat, f.name, re.I) and f.suffix in (".tf", ".sql")):
                found.append(name)
                break
    return [*found, *ALWAYS] if files else []
