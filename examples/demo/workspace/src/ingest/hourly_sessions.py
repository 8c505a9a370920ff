"""Rebuild one hour of analytics.sessions_hourly (Cloud Run job `hourly-sessions`).

    python -m ingest.hourly_sessions --scheduled-time 2026-05-01T10:05:00Z

The hour is the UTC hour before the scheduled time; the job replaces that
hour's rows with one MERGE, so a retry never double-counts.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from ingest import bq, logs

REBUILD = """
MERGE `{project}.analytics.sessions_hourly` AS t
USING (
  SELECT TIMESTAMP_TRUNC(event_ts, HOUR) AS hour, COUNT(DISTINCT session_id) AS sessions
  FROM `{project}.analytics.events`
  WHERE event_ts >= @start AND event_ts < @end
  GROUP BY hour
) AS s
ON FALSE
WHEN NOT MATCHED BY SOURCE AND t.hour = @start THEN DELETE
WHEN NOT MATCHED THEN INSERT (hour, sessions) VALUES (s.hour, s.sessions)
"""


def hour_window(scheduled: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the UTC hour before ``scheduled``."""
    end = scheduled.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=1), end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild one hour of sessions_hourly.")
    parser.add_argument("--scheduled-time", type=datetime.fromisoformat, default=None)
    parser.add_argument("--project", default=bq.default_project())
    args = parser.parse_args(argv)
    start, end = hour_window(args.scheduled_time or datetime.now(UTC))
    bq.query(bq.client(args.project), REBUILD.format(project=args.project), start=start, end=end)
    logs.info("sessions_hourly rebuilt", hour=start.isoformat())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
