#!/usr/bin/env python3
"""bench/peers/queries.py: the query suite of the peer comparison.

The InfluxQL statements are those of bench/bench_query.c (issue 8's suite)
and `cityts bench`; cityts and InfluxDB get the same text, with epoch=ns so
times compare exactly. VictoriaMetrics gets a MetricsQL equivalent per
statement, one request each; how each differs is said beside it.
VictoriaMetrics stores each field as its own metric, `<measurement>_<field>`,
with the tags as labels.

Usage: queries.py paths influxql|metricsql SENSORS
prints NAME<TAB>PATH lines (PATH with its query string, URL-encoded).
"""
import sys
import urllib.parse

START, WEEK_END = "2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z"
NAMES = ["full_range_stats", "hourly_week_one_city", "last_point_every_series",
         "raw_hour_one_sensor", "field_predicate_scan", "mean_stddev_15m_by_city"]


def influxql(sensors):
    sensor = "lis-air-%04d" % min(7, sensors)
    return {
        "full_range_stats":
            "SELECT count(pm25), sum(pm25), min(pm25), max(pm25), mean(pm25) FROM air",
        "hourly_week_one_city":
            "SELECT mean(temperature) FROM weather WHERE city = 'lisbon' AND time >= '%s' "
            "AND time < '%s' GROUP BY time(1h)" % (START, WEEK_END),
        "last_point_every_series": "SELECT last(*) FROM /.*/ GROUP BY *",
        "raw_hour_one_sensor":
            "SELECT * FROM air WHERE sensor = '%s' AND time >= '2026-11-05T12:00:00Z' AND "
            "time < '2026-11-05T13:00:00Z'" % sensor,
        "field_predicate_scan": "SELECT count(pm25) FROM air WHERE pm25 > 50",
        "mean_stddev_15m_by_city":
            "SELECT mean(pm25), stddev(pm25) FROM air WHERE time >= '%s' AND time < '%s' "
            "GROUP BY time(15m), city" % (START, WEEK_END),
    }


def stat(expr, name):
    return 'label_set(%s, "stat", "%s")' % (expr, name)


def metricsql(sensors):
    """(path, note) per statement. Windows look back from the evaluation
    time, (t-d, t], where InfluxQL buckets look forward, [t, t+d): the same
    amount of work, bucket edges shifted by one step."""
    sensor = "lis-air-%04d" % min(7, sensors)
    week = "[1w]"
    full = "union(%s)" % ", ".join([
        stat("sum(count_over_time(air_pm25%s))" % week, "count"),
        stat("sum(sum_over_time(air_pm25%s))" % week, "sum"),
        stat("min(min_over_time(air_pm25%s))" % week, "min"),
        stat("max(max_over_time(air_pm25%s))" % week, "max"),
        stat("sum(sum_over_time(air_pm25%s)) / sum(count_over_time(air_pm25%s))" % (week, week),
             "mean")])
    lis = 'weather_temperature{city="lisbon"}[1h]'
    hourly = "sum(sum_over_time(%s)) / sum(count_over_time(%s))" % (lis, lis)
    s, s2, n = ("sum by (city) (%s_over_time(air_pm25[15m]))" % f for f in ("sum", "sum2", "count"))
    mean = "%s / %s" % (s, n)
    stddev = "sqrt((%s - (%s ^ 2) / %s) / (%s - 1))" % (s2, s, n, n)  # sample stddev, as InfluxQL
    by_city = "union(%s, %s)" % (stat(mean, "mean"), stat(stddev, "stddev"))

    def q(expr):
        return "/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": WEEK_END})

    def qr(expr, step):
        return "/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": expr, "start": START, "end": WEEK_END, "step": step})

    return {
        "full_range_stats": (q(full), "five aggregates in one union() request"),
        "hourly_week_one_city": (qr(hourly, "1h"), "mean over all Lisbon sensors per hour"),
        "last_point_every_series": (q('last_over_time({__name__=~".+"}[1w])'),
                                    "one result per field (VictoriaMetrics' series), not per tag set"),
        "raw_hour_one_sensor": ("/api/v1/export?" + urllib.parse.urlencode({
            "match[]": '{__name__=~"air_.*",sensor="%s"}' % sensor,
            "start": "2026-11-05T12:00:00Z", "end": "2026-11-05T12:59:59.999Z"}),
            "raw samples through /api/v1/export (JSON lines), one line per field"),
        "field_predicate_scan": (q("sum(count_gt_over_time(air_pm25[1w], 50))"), "count_gt_over_time"),
        "mean_stddev_15m_by_city": (qr(by_city, "15m"),
                                    "mean and sample stddev from sum, sum2 and count per city"),
    }


def main():
    if len(sys.argv) != 4 or sys.argv[1] != "paths" or sys.argv[2] not in ("influxql", "metricsql"):
        sys.exit("usage: queries.py paths influxql|metricsql SENSORS")
    sensors = int(sys.argv[3])
    if sys.argv[2] == "influxql":
        for name, text in influxql(sensors).items():
            print("%s\t/query?%s" % (name, urllib.parse.urlencode(
                {"db": "bench", "epoch": "ns", "q": text})))
    else:
        for name, (path, _) in metricsql(sensors).items():
            print("%s\t%s" % (name, path))


if __name__ == "__main__":
    main()
