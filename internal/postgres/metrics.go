package postgres

import "github.com/prometheus/client_golang/prometheus"

// poolCollector exposes the connection pool's state as Prometheus gauges,
// read at scrape time so they are never stale.
type poolCollector struct {
	db                               *DB
	acquired, idle, total, max, wait *prometheus.Desc
}

// Collector returns a Prometheus collector for db's connection pool.
func (db *DB) Collector() prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("medrec_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		db:       db,
		acquired: d("acquired_connections", "Connections currently in use."),
		idle:     d("idle_connections", "Connections open and idle."),
		total:    d("total_connections", "Connections open."),
		max:      d("max_connections", "The pool's connection ceiling."),
		wait:     d("empty_acquire_total", "Acquires that had to wait for a connection."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.wait} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.pool.Stat()
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.wait, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
}
