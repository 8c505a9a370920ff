"""Step 6: a risky deploy is reviewed against the checklists of what it touches; blocking findings gate it."""

from __future__ import annotations

from tests.conftest import WS, happy_script

IAM = "bindings:\n  - members: [serviceAccount:etl@p.iam.gserviceaccount.com]\n    role: roles/owner\n"


def test_an_iam_change_is_reviewed_and_a_blocking_finding_gates_the_deploy(ws: WS) -> None:
    ws.config(gcp_reviewer="judge")
    ws.add_feature("a")
    (ws.root / "deploy/a").mkdir(parents=True)
    (ws.root / "deploy/a/iam-policy.yaml").write_text(IAM)
    (ws.root / "deploy/a/tables.sql").write_text("CREATE TABLE IF NOT EXISTS d.events (dt DATE)\n")
    review = "- [P1] deploy/a/iam-policy.yaml:3 — roles/owner is far wider than the ETL needs\nVOTE: NEEDS WORK\n"
    ws.set_script({**happy_script("a"), "a/deploy_review/review": {"answer": review}})
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "deploy_review:a (waiting for approval)" in r.stdout
    assert "Next: devloop approve a deploy  (1 blocking finding(s)" in r.stdout
    prompt = (ws.root.parent / "last-prompt-deploy_review.txt").read_text()
    for checklist in ("## Checklist: iam", "## Checklist: bigquery", "## Checklist: security", "## Checklist: cost"):
        assert checklist in prompt
    assert "## Checklist: gke" not in prompt
    assert "roles/owner" in ws.read("plans/a/review-gcp.md")
    assert ws.devloop("approve", "a", "deploy").returncode == 0
    out = ws.doit().stdout
    assert "Next: devloop deployed a  (after you deploy a; then doit smoke:a)" in out


def test_a_blocking_finding_at_a_wrong_line_still_gates_the_deploy(ws: WS) -> None:
    ws.config(gcp_reviewer="judge")
    ws.add_feature("a")
    (ws.root / "deploy/a").mkdir(parents=True)
    (ws.root / "deploy/a/iam-policy.yaml").write_text(IAM)
    review = "- [P0] deploy/a/iam-policy.yaml:40 — grants roles/owner to the world\nVOTE: PRODUCTION GRADE\n"
    ws.set_script({**happy_script("a"), "a/deploy_review/review": {"answer": review}})
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "deploy_review:a (waiting for approval)" in r.stdout
    assert "1 cite a place that does not exist" in r.stdout


def test_without_deploy_artifacts_the_review_is_skipped(ws: WS) -> None:
    ws.add_feature("a")
    r = ws.doit()
    assert "Artifact: (skipped: no deploy/a/ artifacts)" in r.stdout
    assert not any(s == "deploy_review" for s, _, _ in ws.agents_since(0))
