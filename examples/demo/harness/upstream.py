"""Stand-in for the upstream exporter: the source table analytics.events with one day of events.

    python upstream.py --bigquery http://127.0.0.1:PORT [--project acme-analytics]

The exporter lands each day's events with ``event_date`` = the Asia/Singapore
calendar date (UTC+8) of the event, which is the fact the first plan leaves
out. This loads 240 events of yesterday (Asia/Singapore): 12 customers, and
6 events with no customer_id (logged-out sessions). No other day has events,
so a job that takes "yesterday" in UTC reads an empty day whatever the hour.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Singapore")

DDL = """
CREATE TABLE IF NOT EXISTS `{project}.analytics.events` (
  event_id STRING NOT NULL,
  customer_id STRING,
  event_type STRING NOT NULL,
  event_ts TIMESTAMP NOT NULL,
  event_date DATE NOT NULL
)
PARTITION BY event_date
OPTIONS (description = "Product events; event_date is the Asia/Singapore date of event_ts")
"""

# Event i happens at 00:00 + 6*i minutes of the day (Asia/Singapore); every 40th has no customer.
LOAD = """
INSERT INTO `{project}.analytics.events` (event_id, customer_id, event_type, event_ts, event_date)
SELECT
  CONCAT('evt-', CAST(i AS STRING)),
  IF(MOD(i, 40) = 39, NULL, CONCAT('cust-', LPAD(CAST(MOD(i, 12) + 1 AS STRING), 3, '0'))),
  IF(MOD(i, 3) = 0, 'purchase', 'page_view'),
  TIMESTAMP_ADD(TIMESTAMP(@day, 'Asia/Singapore'), INTERVAL i * 6 MINUTE),
  @day
FROM UNNEST(GENERATE_ARRAY(0, 239)) AS i
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bigquery", required=True, help="the emulator's URL")
    parser.add_argument("--project", default="acme-analytics")
    args = parser.parse_args(argv)

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=args.project, credentials=AnonymousCredentials(), client_options={"api_endpoint": args.bigquery}
    )
    day = datetime.now(TZ).date() - timedelta(days=1)
    client.create_dataset("analytics", exists_ok=True)
    client.query(DDL.format(project=args.project)).result()
    params = [bigquery.ScalarQueryParameter("day", "DATE", day)]
    config = bigquery.QueryJobConfig(query_parameters=params)
    client.query(LOAD.format(project=args.project), job_config=config).result()
    (row,) = client.query(
        f"SELECT COUNT(*) AS n, COUNTIF(customer_id IS NULL) AS no_customer, MIN(event_date) AS first, "
        f"MAX(event_date) AS last FROM `{args.project}.analytics.events`"
    ).result()
    print(
        f"upstream exporter (stand-in): {args.project}.analytics.events holds {row['n']} events, all with "
        f"event_date {row['first']} (yesterday in Asia/Singapore; {row['no_customer']} without a customer_id)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
