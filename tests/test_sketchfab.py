"""The Sketchfab client's pure parts: how Retry-After is read, how long a back-off lasts."""

import time

from webapp.thumbnails.sketchfab import back_off_seconds, retry_after


def test_retry_after_reads_seconds_and_dates():
    assert retry_after("5") == 5
    assert retry_after(None) == 60
    assert retry_after("soon") == 60
    assert retry_after("nan") == 60
    assert retry_after("999999") == 3600
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    assert 100 < retry_after(future) <= 120


def test_back_off_doubles_from_10_s_up_to_15_min():
    assert [back_off_seconds(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 640, 900]
    assert back_off_seconds(10_000) == 900
