import unittest
from datetime import UTC, datetime, timedelta, timezone

from ingest.hourly_sessions import REBUILD, hour_window


class HourWindowTest(unittest.TestCase):
    def test_the_hour_before_the_scheduled_time(self) -> None:
        start, end = hour_window(datetime(2026, 5, 1, 10, 5, tzinfo=UTC))
        self.assertEqual(start, datetime(2026, 5, 1, 9, tzinfo=UTC))
        self.assertEqual(end, datetime(2026, 5, 1, 10, tzinfo=UTC))

    def test_an_offset_scheduled_time_is_converted_to_utc(self) -> None:
        start, _ = hour_window(datetime(2026, 5, 1, 6, 5, tzinfo=timezone(timedelta(hours=8))))
        self.assertEqual(start, datetime(2026, 4, 30, 21, tzinfo=UTC))

    def test_the_rebuild_is_one_statement_with_parameters(self) -> None:
        self.assertIn("@start", REBUILD)
        self.assertEqual(REBUILD.count("MERGE"), 1)


if __name__ == "__main__":
    unittest.main()
